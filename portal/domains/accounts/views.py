"""Accounts pages: the tree (own + roll-up balances, search, lazy expand, inline create), the account
page (balances polled live, activity, quick actions), edit, settlement bank, freeze/unfreeze/close.
Thin controllers over accounts.services and ledger.services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from portal.domains.accounts import services
from portal.lib.actor import Actor
from portal.lib.i18n import gettext
from portal.lib.money import CURRENCIES
from portal.server.forms import handle_form, htmx, pages_router, see_other
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page


def _kind_options() -> list[tuple[str, str]]:
    return [("partner", gettext("Partner")), ("division", gettext("Division"))]


async def _tree_context(actor: Actor, q: str = "") -> dict[str, Any]:
    rows = await services.subtree_rows(actor)
    matches = None
    if q:
        needle = q.lower()
        matches = [r for r in rows if needle in r.name.lower() or needle in (r.reference or "").lower()]
    return {
        "roots": services.build_tree(rows),
        "matches": matches,
        "q": q,
        "parents": await services.list_for_picker(actor),
        "banks": await services.list_banks(),
        "kinds": _kind_options(),
        "currencies": list(CURRENCIES),
        "can_manage": actor.can("accounts", "manage"),
        "form": {"kind": "partner", "currency": "IDR"},
        "errors": {},
    }


@get(
    "/accounts",
    operation_id="accounts_tree",
    guards=[requires("accounts")],
)
async def accounts_tree(request: Request[Any, Any, Any], actor: Actor, q: str = "") -> Response[str]:
    context = await _tree_context(actor, q[:100])
    block = "tree" if htmx(request).target == "account-tree" else "content"
    return page(request, "accounts/tree.html", context, block=block)


@get(
    "/accounts/{account_id:str}/children",
    operation_id="account_children",
    guards=[requires("accounts")],
)
async def account_children(request: Request[Any, Any, Any], actor: Actor, account_id: str) -> Response[str]:
    """The subtree under one account (htmx loads it when a branch is opened)."""
    rows = await services.subtree_rows(actor, account_id)
    roots = services.build_tree(rows)
    children = roots[0].children if roots else []
    return page(request, "accounts/_children.html", {"nodes": children}, block="children")


@post(
    "/accounts",
    operation_id="accounts_create",
    guards=[requires("accounts", "manage")],
)
async def accounts_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(data: dict[str, str]) -> Any:
        return await services.create_account(
            actor,
            name=data.get("name", ""),
            kind=data.get("kind", ""),
            parent_id=data.get("parent_id", ""),
            currency=data.get("currency", "IDR") or "IDR",
            reference=data.get("reference") or None,
            email=data.get("email") or None,
            phone=data.get("phone") or None,
            settlement_bank=_changes({**data, "section": "bank"})["settlement_bank"],
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _tree_context(actor)
        context.update(form=data, errors=errors, message=message)
        return page(request, "accounts/tree.html", context)

    async def created(account: Any) -> Response[Any]:
        # The inline form (htmx) gets the tree back with a toast; a plain post goes to the new account.
        if not htmx(request):
            return see_other(request, f"/accounts/{account.id}")
        return page(
            request,
            "accounts/tree.html",
            await _tree_context(actor),
            toast=("success", gettext("Account %(name)s created.") % {"name": account.name}),
        )

    return await handle_form(request, create, render=render, success=created)


async def _account_context(actor: Actor, account_id: str) -> dict[str, Any]:
    from portal.domains.ledger import history
    from portal.domains.ledger import services as ledger

    account = await services.get_account_row(actor, account_id)
    rollup = await services.rollup_balance(actor, account.id)
    rows, _ = (
        await ledger.list_transfer_rows(actor, account_id=account.id, limit=15, lines=True)
        if actor.can("transfers", "view")
        else ([], None)
    )
    # The account's history as lines: signed as this account sees them, with status and reference.
    transfers, names = await history.lines(actor, rows, account_id=account.id)
    topups = (
        (await ledger.list_topups(actor, account_id=account.id, limit=10)).data
        if actor.can("transfers", "view")
        else []
    )
    withdrawals = (
        (await ledger.list_withdrawals(actor, account_id=account.id, limit=10)).data
        if actor.can("transfers", "view")
        else []
    )
    banks = await services.list_banks()
    return {
        "account": account,
        "rollup": rollup,
        "transfers": transfers,
        "names": names,
        "topups": topups,
        "withdrawals": withdrawals,
        "banks": banks,
        "bank_names": dict(banks),
        "can_manage": actor.can("accounts", "manage"),
        "can_move": actor.can("transfers", "manage"),
        "can_operate": actor.can("payouts", "manage"),
        "sandbox": actor.business_mode == "sandbox",
        "errors": {},
        "form": {},
    }


@get(
    "/accounts/{account_id:str}",
    operation_id="account_detail",
    guards=[requires("accounts")],
)
async def account_detail(request: Request[Any, Any, Any], actor: Actor, account_id: str) -> Response[str]:
    return page(request, "accounts/detail.html", await _account_context(actor, account_id))


@get(
    "/accounts/{account_id:str}/balance",
    operation_id="account_balance_fragment",
    guards=[requires("accounts")],
)
async def account_balance(request: Request[Any, Any, Any], actor: Actor, account_id: str) -> Response[str]:
    """The balance tiles alone: the account page polls this, so balances change without a reload."""
    account = await services.get_account_row(actor, account_id)
    rollup = await services.rollup_balance(actor, account.id)
    return page(request, "accounts/detail.html", {"account": account, "rollup": rollup}, block="balances")


@post(
    "/accounts/{account_id:str}",
    operation_id="account_update",
    guards=[requires("accounts", "manage")],
)
async def account_update(request: Request[Any, Any, Any], actor: Actor, account_id: str) -> Response[Any]:
    async def update(data: dict[str, str]) -> None:
        await services.update_account(actor, account_id, _changes(data))

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _account_context(actor, account_id)
        context.update(form=data, errors=errors, message=message)
        return page(request, "accounts/detail.html", context)

    return await handle_form(request, update, render=render, success=lambda _: f"/accounts/{account_id}")


def _changes(data: dict[str, str]) -> dict[str, Any]:
    """The account edit form (profile or settlement bank section) as the changes the service takes."""
    changes: dict[str, Any] = {}
    if data.get("section") == "bank":
        if data.get("bank_code") or data.get("account_number") or data.get("holder_name"):
            changes["settlement_bank"] = {
                "bank_code": data.get("bank_code", ""),
                "account_number": data.get("account_number", ""),
                "holder_name": data.get("holder_name", ""),
            }
        else:
            changes["settlement_bank"] = None
    else:
        for key in ("name", "reference", "email", "phone"):
            if key in data:
                changes[key] = data[key] or (None if key != "name" else "")
    return changes


@post(
    "/accounts/{account_id:str}/status",
    operation_id="account_status",
    guards=[requires("accounts", "manage")],
)
async def account_status(request: Request[Any, Any, Any], actor: Actor, account_id: str) -> Response[Any]:
    async def change(data: dict[str, str]) -> None:
        action = data.get("action", "")
        await services.set_status(
            actor, account_id, action if action in ("freeze", "unfreeze", "close") else "?"
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _account_context(actor, account_id)
        context.update(errors={"__all__": [message]}, message=message)
        return page(request, "accounts/detail.html", context)

    return await handle_form(request, change, render=render, success=lambda _: f"/accounts/{account_id}")


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [
            accounts_tree,
            account_children,
            accounts_create,
            account_detail,
            account_balance,
            account_update,
            account_status,
        ],
    )
]
