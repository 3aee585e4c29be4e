"""Money pages: transfers list, transfer / top-up / withdrawal forms and the operator's actions.
Every mutation works as a plain form post; invalid input re-renders the form with field errors (422)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from portal.domains.accounts import services as accounts
from portal.domains.accounts.views import errors_dict, form
from portal.domains.ledger import services
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.money import parse_amount
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

DEPS = {"actor": ACTOR_DEPENDENCY}


def _reference() -> str:
    return "WEB-" + uuid.uuid4().hex[:12].upper()


async def _options(actor: Actor) -> list[tuple[str, str]]:
    rows = await accounts.subtree_rows(actor)
    return [(r.id, f"{r.name} ({r.currency})") for r in rows if r.status != "closed"]


def _amount(data: dict[str, str], currency: str) -> int:
    return parse_amount(data.get("amount", ""), currency, pointer="amount")


async def _currency_of(actor: Actor, account_id: str, pointer: str) -> str:
    return (await accounts.get_account_row(actor, account_id, pointer=pointer)).currency


def _refused(exc: NeracaError) -> bool:
    """Errors the form shows next to its fields (anything else is an error page)."""
    return exc.status in (409, 422) or (exc.status == 404 and bool(exc.errors))


@get(
    "/transfers",
    operation_id="transfers_list",
    include_in_schema=False,
    guards=[requires("transfers")],
    dependencies=DEPS,
)
async def transfers_list(
    request: Request[Any, Any, Any], actor: Actor, account_id: str = "", reference: str = "", after: str = ""
) -> Response[str]:
    rows, next_cursor = await services.list_transfer_rows(
        actor, account_id=account_id or None, reference=reference or None, limit=50, after=after or None
    )
    names = await services._account_names(
        list({r["debit_account_id"] for r in rows} | {r["credit_account_id"] for r in rows})
    )
    query = f"account_id={account_id}&reference={reference}&after={next_cursor}" if next_cursor else None
    context = {
        "transfers": rows,
        "names": names,
        "account_id": account_id,
        "reference": reference,
        "next_url": f"/transfers?{query}" if query else None,
        "can_move": actor.can("transfers", "manage"),
    }
    block = "rows" if after and request.headers.get("hx-request") == "true" else "content"
    return page(request, "ledger/transfers.html", context, block=block)


async def _transfer_form(
    request: Request[Any, Any, Any],
    actor: Actor,
    data: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
    message: str = "",
) -> Response[str]:
    context = {"form": data, "errors": errors, "options": await _options(actor), "message": message}
    return page(request, "ledger/transfer_form.html", context, status_code=status)


@get(
    "/transfers/new",
    operation_id="transfers_new",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def transfers_new(
    request: Request[Any, Any, Any], actor: Actor, from_account_id: str = ""
) -> Response[str]:
    return await _transfer_form(
        request, actor, {"from_account_id": from_account_id, "reference": _reference()}, {}
    )


@post(
    "/transfers",
    operation_id="transfers_create",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def transfers_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    data = await form(request)
    try:
        source = data.get("from_account_id", "")
        currency = await _currency_of(actor, source, "from_account_id")
        transfer = await services.create_transfer(
            actor,
            from_account_id=source,
            to_account_id=data.get("to_account_id", ""),
            amount=_amount(data, currency),
            reference=data.get("reference", ""),
            description=data.get("description") or None,
        )
    except NeracaError as exc:
        if not _refused(exc):
            raise
        return await _transfer_form(
            request, actor, data, errors_dict(exc.errors, exc.detail), 422, exc.detail
        )
    return Redirect(f"/accounts/{transfer.from_account_id}?transferred={transfer.id}", status_code=303)


async def _simple_form(
    request: Request[Any, Any, Any],
    actor: Actor,
    template: str,
    data: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
    message: str = "",
) -> Response[str]:
    fees = await services.business_fees(actor.business_id)
    context = {
        "form": data,
        "errors": errors,
        "options": await _options(actor),
        "fees": fees,
        "message": message,
    }
    return page(request, template, context, status_code=status)


async def _account_order(
    request: Request[Any, Any, Any], actor: Actor, template: str, create: Callable[..., Awaitable[Any]]
) -> Any:
    """A top-up or withdrawal form post (account, amount in its currency, reference): the created order,
    or the form re-rendered with the refusal (422)."""
    data = await form(request)
    try:
        account_id = data.get("account_id", "")
        currency = await _currency_of(actor, account_id, "account_id")
        return await create(
            actor, account_id=account_id, amount=_amount(data, currency), reference=data.get("reference", "")
        )
    except NeracaError as exc:
        if not _refused(exc):
            raise
        return await _simple_form(
            request, actor, template, data, errors_dict(exc.errors, exc.detail), 422, exc.detail
        )


@get(
    "/topups/new",
    operation_id="topups_new",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def topups_new(request: Request[Any, Any, Any], actor: Actor, account_id: str = "") -> Response[str]:
    data = {"account_id": account_id, "reference": _reference()}
    return await _simple_form(request, actor, "ledger/topup_form.html", data, {})


@post(
    "/topups",
    operation_id="topups_create",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def topups_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    topup = await _account_order(request, actor, "ledger/topup_form.html", services.create_topup)
    if isinstance(topup, Response):
        return topup
    return Redirect(f"/topups/{topup.id}", status_code=303)


@get(
    "/topups/{topup_id:str}",
    operation_id="topup_detail",
    include_in_schema=False,
    guards=[requires("transfers")],
    dependencies=DEPS,
)
async def topup_detail(request: Request[Any, Any, Any], actor: Actor, topup_id: str) -> Response[str]:
    topup = await services.get_topup(actor, topup_id)
    account = await accounts.get_account_row(actor, topup.account_id)
    banks = dict(await accounts.list_banks())
    context = {
        "topup": topup,
        "account": account,
        "bank_name": banks.get(topup.payment_instructions.bank_code, ""),
        "sandbox": actor.business_mode == "sandbox",
        "can_move": actor.can("transfers", "manage"),
    }
    return page(request, "ledger/topup.html", context)


@post(
    "/topups/{topup_id:str}/simulate-payment",
    operation_id="topup_simulate",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def topup_simulate(request: Request[Any, Any, Any], actor: Actor, topup_id: str) -> Response[Any]:
    topup = await services.simulate_topup_payment(actor, topup_id)
    return Redirect(f"/accounts/{topup.account_id}", status_code=303)


@get(
    "/withdrawals/new",
    operation_id="withdrawals_new",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def withdrawals_new(
    request: Request[Any, Any, Any], actor: Actor, account_id: str = ""
) -> Response[str]:
    data = {"account_id": account_id, "reference": _reference()}
    return await _simple_form(request, actor, "ledger/withdrawal_form.html", data, {})


@post(
    "/withdrawals",
    operation_id="withdrawals_create",
    include_in_schema=False,
    guards=[requires("transfers", "manage")],
    dependencies=DEPS,
)
async def withdrawals_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    withdrawal = await _account_order(
        request, actor, "ledger/withdrawal_form.html", services.create_withdrawal
    )
    if isinstance(withdrawal, Response):
        return withdrawal
    return Redirect(f"/accounts/{withdrawal.account_id}", status_code=303)


@post(
    "/withdrawals/{withdrawal_id:str}/mark-paid",
    operation_id="withdrawal_mark_paid",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def withdrawal_mark_paid(
    request: Request[Any, Any, Any], actor: Actor, withdrawal_id: str
) -> Response[Any]:
    withdrawal = await services.mark_withdrawal_paid(actor, withdrawal_id)
    return Redirect(f"/accounts/{withdrawal.account_id}", status_code=303)


@post(
    "/withdrawals/{withdrawal_id:str}/mark-failed",
    operation_id="withdrawal_mark_failed",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def withdrawal_mark_failed(
    request: Request[Any, Any, Any], actor: Actor, withdrawal_id: str
) -> Response[Any]:
    data = await form(request)
    await services.get_withdrawal(actor, withdrawal_id)  # another business's or out of scope: 404 first
    if not data.get("reason", "").strip():
        raise ValidationFailed(
            gettext("Give the reason the payout failed."), errors=[FieldError("reason", gettext("required"))]
        )
    withdrawal = await services.mark_withdrawal_failed(actor, withdrawal_id, reason=data["reason"])
    return Redirect(f"/accounts/{withdrawal.account_id}", status_code=303)


ROUTES = [
    transfers_list,
    transfers_new,
    transfers_create,
    topups_new,
    topups_create,
    topup_detail,
    topup_simulate,
    withdrawals_new,
    withdrawals_create,
    withdrawal_mark_paid,
    withdrawal_mark_failed,
]
