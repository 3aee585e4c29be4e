"""Accounts JSON API (/api/v1/accounts): thin controllers over accounts.services."""

from __future__ import annotations

from typing import Any

from litestar import get, patch, post

from portal.domains.accounts import services
from portal.domains.accounts.schemas import AccountCreate, AccountOut, AccountPage, AccountUpdate
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}


@post(
    "/api/v1/accounts",
    operation_id="create_account",
    guards=[requires("accounts", "manage")],
    dependencies=DEPS,
    tags=["accounts"],
)
async def create_account(actor: Actor, data: AccountCreate) -> AccountOut:
    """Create a partner or division account under `parent_id`."""
    row = await services.create_account(
        actor,
        name=data.name,
        kind=data.kind,
        parent_id=data.parent_id,
        currency=data.currency,
        reference=data.reference,
        email=data.email,
        phone=data.phone,
        metadata=data.metadata,
    )
    return row.out()


@get(
    "/api/v1/accounts/{account_id:str}",
    operation_id="retrieve_account",
    guards=[requires("accounts")],
    dependencies=DEPS,
    tags=["accounts"],
)
async def retrieve_account(actor: Actor, account_id: str) -> AccountOut:
    """One account of the caller's business and scope."""
    return await services.get_account(actor, account_id)


@get(
    "/api/v1/accounts",
    operation_id="list_accounts",
    guards=[requires("accounts")],
    dependencies=DEPS,
    tags=["accounts"],
)
async def list_accounts(
    actor: Actor,
    parent_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> AccountPage:
    """Accounts in scope, filtered, oldest first, cursor-paginated."""
    return await services.list_accounts(
        actor, parent_id=parent_id, kind=kind, status=status, q=q, limit=limit, after=after
    )


@patch(
    "/api/v1/accounts/{account_id:str}",
    operation_id="update_account",
    guards=[requires("accounts", "manage")],
    before_request=object_first(services.find_account, "account_id"),
    dependencies=DEPS,
    tags=["accounts"],
)
async def update_account(actor: Actor, account_id: str, data: AccountUpdate) -> AccountOut:
    """Change the given fields only; null clears an optional field."""
    return (await services.update_account(actor, account_id, data.changes())).out()


def _status_handler(action: str, doc: str) -> Any:
    async def handler(actor: Actor, account_id: str) -> AccountOut:
        return (await services.set_status(actor, account_id, action)).out()

    handler.__doc__ = doc
    handler.__name__ = f"{action}_account"
    return post(
        f"/api/v1/accounts/{{account_id:str}}/{action}",
        operation_id=f"{action}_account",
        guards=[requires("accounts", "manage")],
        dependencies=DEPS,
        tags=["accounts"],
        status_code=200,
    )(handler)


freeze_account = _status_handler("freeze", "Freeze: the account still receives, but nothing can be debited.")
unfreeze_account = _status_handler("unfreeze", "Make a frozen account active again.")
close_account = _status_handler("close", "Close for good (only at a zero balance with no open sub-accounts).")

ROUTES = [
    create_account,
    retrieve_account,
    list_accounts,
    update_account,
    freeze_account,
    unfreeze_account,
    close_account,
]
