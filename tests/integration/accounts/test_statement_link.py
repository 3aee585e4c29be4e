"""The account page leads to the account's statement."""

from __future__ import annotations

import re
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from tests.support.accounts import owner_client


async def test_account_page_links_to_its_statement_with_the_account_chosen(client: Any) -> None:
    business, owner, main = await owner_client(client)
    partner = await accounts.create_account(
        user_actor(owner, business), name="Toko Statement", kind="partner", parent_id=main
    )
    detail = await client.get(f"/accounts/{partner.id}")
    assert detail.status_code == 200
    link = f"/reports?account_id={partner.id}"
    assert f'href="{link}"' in detail.text
    statements = await client.get(link)
    assert statements.status_code == 200
    chosen = re.search(rf'<option value="{partner.id}"[^>]*selected', statements.text)
    assert chosen is not None, "the statements form does not preselect the account"
