"""The new-account form offers the settlement bank account (optional): a bank from the BI code list, an
account number and a holder name, checked as the account's edit form checks them, shown next to their
fields; nothing is created on a refusal."""

from __future__ import annotations

import re
from typing import Any

from portal.domains.accounts import services as accounts
from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_in_client


async def test_an_account_is_created_with_its_settlement_bank(client: Any, db: str) -> None:
    business, owner = await make_business()
    main = await accounts.ensure_business_accounts(business.id)
    await signed_in_client(client, owner)
    tree = await client.get("/accounts")
    assert 'id="f-bank_code"' in tree.text and 'id="f-holder_name"' in tree.text
    form = {"_csrf_token": csrf_from(tree.text), "kind": "partner", "parent_id": main, "currency": "IDR"}

    async def named(name: str) -> Any:
        return await sql.fetchrow(
            "SELECT * FROM account WHERE business_id = $1 AND name = $2", business.id, name
        )

    bad = await client.post(
        "/accounts",
        data=form
        | {"name": "Toko Salah", "bank_code": "002", "account_number": "12", "holder_name": "Salah"},
    )
    assert bad.status_code == 422 and "5 to 20 digits" in bad.text
    assert (
        'id="f-account_number-error"' in bad.text
        or "f-account_number" in bad.text.split("5 to 20 digits")[0][-600:]
    )
    assert await named("Toko Salah") is None
    unknown = await client.post(
        "/accounts",
        data=form
        | {"name": "Toko Salah", "bank_code": "zzz", "account_number": "0341010001", "holder_name": "S"},
    )
    assert unknown.status_code == 422 and re.search(r'id="f-bank_code-error">.*unknown bank', unknown.text)
    assert await named("Toko Salah") is None

    ok = await client.post(
        "/accounts",
        data=form
        | {
            "name": "Toko Sinar",
            "bank_code": "002",
            "account_number": "0341-0100-01",
            "holder_name": "Sinar",
        },
    )
    assert ok.status_code == 303
    row = await named("Toko Sinar")
    assert (row["settlement_bank_code"], row["settlement_account_number"], row["settlement_holder_name"]) == (
        "002",
        "0341010001",
        "Sinar",
    )
    plain = await client.post("/accounts", data=form | {"name": "Toko Polos"})
    assert plain.status_code == 303 and (await named("Toko Polos"))["settlement_bank_code"] is None
