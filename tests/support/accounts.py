"""Portal clients and form posts shared by the accounts and ledger page tests."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from tests.support.identity import csrf_from, make_business, signed_in_client


async def owner_client(client: Any) -> tuple[Any, Any, str]:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    return business, owner, main


async def post_form(client: Any, url: str, data: dict[str, str], page_url: str = "/accounts") -> Any:
    token = csrf_from((await client.get(page_url)).text)
    return await client.post(url, data={**data, "_csrf_token": token})
