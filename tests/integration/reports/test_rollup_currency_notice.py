"""A roll-up over a subtree holding accounts in another currency says how many were left out — in both
languages (the notice once crashed: a `|format` on an already formatted gettext string)."""

from __future__ import annotations

import httpx

from portal.domains.accounts import services as accounts
from tests.support.reports import api_business, portal_client


async def test_rollup_notice_counts_accounts_in_other_currencies(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    parent = biz.tree.accounts[0]
    for currency in ("USD", "SGD"):
        await accounts.create_account(
            biz.tree.actor, name=f"Foreign {currency}", kind="division", parent_id=parent, currency=currency
        )
    await portal_client(client, biz.business_id)
    params = {"account_id": parent, "scope": "subtree", "include_descendants": "1", "period": "month"}
    page = await client.get("/reports/statement", params=params)
    assert page.status_code == 200, page.text[:500]
    assert "2 sub-accounts in other currencies are not in this roll-up." in page.text
    client.cookies.set("neraca_lang", "id")
    await client.post("/language", data={"language": "id", "next": "/reports"})
    translated = await client.get("/reports/statement", params=params)
    assert "2 sub-akun dengan mata uang lain tidak termasuk dalam gabungan ini." in translated.text
