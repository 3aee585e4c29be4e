"""Money pages: transfers list, transfer / top-up / withdrawal forms and the operator's actions.
Every mutation works as a plain form post (`portal.server.forms.handle_form`): invalid input re-renders
the form with field errors (422). The transfer, top-up and withdrawal forms go through a review step
(`step=review`) that shows the amount as it was read, formatted, before anything is booked."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post

from portal.domains.accounts import services as accounts
from portal.domains.ledger import services
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.money import parse_amount
from portal.server.forms import (
    handle_form,
    htmx,
    pages_router,
    posted,
    query,
    read_form,
    see_other,
    shown_back,
)
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page


def _reference() -> str:
    return "WEB-" + uuid.uuid4().hex[:12].upper()


async def _options(actor: Actor) -> list[tuple[str, str]]:
    rows = await accounts.subtree_rows(actor)
    return [(r.id, f"{r.name} ({r.currency})") for r in rows if r.status != "closed"]


def _amount(data: dict[str, str], currency: str) -> int:
    return parse_amount(data.get("amount", ""), currency, locale=i18n.babel_locale(), pointer="amount")


async def _account_of(actor: Actor, account_id: str, pointer: str) -> accounts.AccountRow:
    return await accounts.get_account_row(actor, account_id, pointer=pointer)


@dataclass(frozen=True)
class Review:
    """A form read and checked, shown back for confirmation before anything is booked."""

    title: str
    action: str
    amount: int
    currency: str
    rows: list[tuple[str, str]]
    data: dict[str, str]


def _reviewing(data: dict[str, str]) -> bool:
    return data.get("step") == "review"


def _editing(data: dict[str, str]) -> bool:
    """ "Change" on the review step: the form again with what was entered (checked text only)."""
    if data.get("step") != "edit":
        return False
    data.update(shown_back(data))
    data.pop("step")
    return True


def _review_response(request: Request[Any, Any, Any], review: Review) -> Response[str]:
    hidden = {k: v for k, v in review.data.items() if k not in ("step", "_csrf_token")}
    return page(request, "ledger/review.html", {"review": review, "hidden": hidden})


@get("/transfers", operation_id="transfers_list", guards=[requires("transfers")])
async def transfers_list(
    request: Request[Any, Any, Any], actor: Actor, account_id: str = "", reference: str = "", after: str = ""
) -> Response[str]:
    rows, next_cursor = await services.list_transfer_rows(
        actor, account_id=account_id or None, reference=reference or None, limit=50, after=after or None
    )
    names = await services.account_names(
        list({r["debit_account_id"] for r in rows} | {r["credit_account_id"] for r in rows})
    )
    next_url = (
        query("/transfers", account_id=account_id, reference=reference, after=next_cursor)
        if next_cursor
        else None
    )
    context = {
        "transfers": rows,
        "names": names,
        "account_id": account_id,
        "reference": reference,
        "next_url": next_url,
        "can_move": actor.can("transfers", "manage"),
    }
    block = "rows" if after and htmx(request) else "content"
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


@get("/transfers/new", operation_id="transfers_new", guards=[requires("transfers", "manage")])
async def transfers_new(
    request: Request[Any, Any, Any], actor: Actor, from_account_id: str = ""
) -> Response[str]:
    return await _transfer_form(
        request, actor, {"from_account_id": from_account_id, "reference": _reference()}, {}
    )


@post("/transfers", operation_id="transfers_create", guards=[requires("transfers", "manage")])
async def transfers_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    if _editing(data := await posted(request)):
        return await _transfer_form(request, actor, data, {})

    async def transfer(data: dict[str, str]) -> Any:
        source = await _account_of(actor, data.get("from_account_id", ""), "from_account_id")
        amount = _amount(data, source.currency)
        if _reviewing(data):
            target = await _account_of(actor, data.get("to_account_id", ""), "to_account_id")
            rows = [
                (i18n.pgettext("transfer source account", "From"), source.name),
                (i18n.pgettext("transfer destination account", "To"), target.name),
                (gettext("Reference"), data.get("reference", "")),
                (gettext("Description"), data.get("description", "")),
            ]
            return Review(gettext("Check the transfer"), "/transfers", amount, source.currency, rows, data)
        return await services.create_transfer(
            actor,
            from_account_id=source.id,
            to_account_id=data.get("to_account_id", ""),
            amount=amount,
            reference=data.get("reference", ""),
            description=data.get("description") or None,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _transfer_form(request, actor, data, errors, 422, message)

    def done(result: Any) -> str | Response[Any]:
        if isinstance(result, Review):
            return _review_response(request, result)
        return query(f"/accounts/{result.from_account_id}", transferred=result.id)

    return await handle_form(request, transfer, render=render, success=done)


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
    request: Request[Any, Any, Any],
    actor: Actor,
    kind: str,
    create: Callable[..., Awaitable[Any]],
    done: Callable[[Any], str],
) -> Response[Any]:
    """A top-up or withdrawal form post (account, amount in its currency, reference): the review step,
    the created order, or the form re-rendered with the refusal (422)."""
    template = f"ledger/{kind}_form.html"
    if _editing(data := await posted(request)):
        return await _simple_form(request, actor, template, data, {})
    title = gettext("Check the top-up order") if kind == "topup" else gettext("Check the withdrawal")
    action = "/topups" if kind == "topup" else "/withdrawals"

    async def order(data: dict[str, str]) -> Any:
        account = await _account_of(actor, data.get("account_id", ""), "account_id")
        amount = _amount(data, account.currency)
        if _reviewing(data):
            rows = [(gettext("Account"), account.name), (gettext("Reference"), data.get("reference", ""))]
            return Review(title, action, amount, account.currency, rows, data)
        return await create(actor, account_id=account.id, amount=amount, reference=data.get("reference", ""))

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _simple_form(request, actor, template, data, errors, 422, message)

    def success(result: Any) -> str | Response[Any]:
        return _review_response(request, result) if isinstance(result, Review) else done(result)

    return await handle_form(request, order, render=render, success=success)


@get(
    "/topups/new",
    operation_id="topups_new",
    guards=[requires("transfers", "manage")],
)
async def topups_new(request: Request[Any, Any, Any], actor: Actor, account_id: str = "") -> Response[str]:
    data = {"account_id": account_id, "reference": _reference()}
    return await _simple_form(request, actor, "ledger/topup_form.html", data, {})


@post(
    "/topups",
    operation_id="topups_create",
    guards=[requires("transfers", "manage")],
)
async def topups_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    return await _account_order(request, actor, "topup", services.create_topup, lambda t: f"/topups/{t.id}")


@get(
    "/topups/{topup_id:str}",
    operation_id="topup_detail",
    guards=[requires("transfers")],
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
    guards=[requires("transfers", "manage")],
)
async def topup_simulate(request: Request[Any, Any, Any], actor: Actor, topup_id: str) -> Response[Any]:
    await read_form(request)
    topup = await services.simulate_topup_payment(actor, topup_id)
    return see_other(request, f"/accounts/{topup.account_id}")


@get(
    "/withdrawals/new",
    operation_id="withdrawals_new",
    guards=[requires("transfers", "manage")],
)
async def withdrawals_new(
    request: Request[Any, Any, Any], actor: Actor, account_id: str = ""
) -> Response[str]:
    data = {"account_id": account_id, "reference": _reference()}
    return await _simple_form(request, actor, "ledger/withdrawal_form.html", data, {})


@post(
    "/withdrawals",
    operation_id="withdrawals_create",
    guards=[requires("transfers", "manage")],
)
async def withdrawals_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    return await _account_order(
        request, actor, "withdrawal", services.create_withdrawal, lambda w: f"/accounts/{w.account_id}"
    )


@post(
    "/withdrawals/{withdrawal_id:str}/mark-paid",
    operation_id="withdrawal_mark_paid",
    guards=[requires("payouts", "manage")],
)
async def withdrawal_mark_paid(
    request: Request[Any, Any, Any], actor: Actor, withdrawal_id: str
) -> Response[Any]:
    await read_form(request)
    withdrawal = await services.mark_withdrawal_paid(actor, withdrawal_id)
    return see_other(request, f"/accounts/{withdrawal.account_id}")


@post(
    "/withdrawals/{withdrawal_id:str}/mark-failed",
    operation_id="withdrawal_mark_failed",
    guards=[requires("payouts", "manage")],
)
async def withdrawal_mark_failed(
    request: Request[Any, Any, Any], actor: Actor, withdrawal_id: str
) -> Response[Any]:
    await services.get_withdrawal(actor, withdrawal_id)  # another business's or out of scope: 404 first
    data = await read_form(request)
    if not data.get("reason", "").strip():
        raise ValidationFailed(
            gettext("Give the reason the payout failed."), errors=[FieldError("reason", gettext("required"))]
        )
    withdrawal = await services.mark_withdrawal_failed(actor, withdrawal_id, reason=data["reason"])
    return see_other(request, f"/accounts/{withdrawal.account_id}")


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [
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
        ],
    )
]
