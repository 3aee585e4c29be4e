"""Money pages: transfers list, transfer / top-up / withdrawal forms and the operator's actions.
Every mutation works as a plain form post (`portal.server.forms.handle_form`): invalid input re-renders
the form with field errors (422). The transfer, top-up and withdrawal forms go through a review step
(`step=review`) that shows the amount as it was read, formatted, before anything is booked."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from litestar import Request, Response, get, post

from portal.domains.accounts import services as accounts
from portal.domains.identity import auth
from portal.domains.ledger import history, services
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.money import parse_amount
from portal.lib.spreadsheet import escape_text
from portal.lib.timefmt import WIB, to_wib
from portal.server.forms import (
    field_errors,
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
    # The source account's available balance before this, so the reviewer sees what is left.
    available: int | None = None
    # Above the business's threshold the confirm step asks for the user's authenticator code.
    code_required: bool = False
    errors: dict[str, list[str]] | None = None
    message: str = ""


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
    hidden = {k: v for k, v in review.data.items() if k not in ("step", "_csrf_token", "otp")}
    context = {"review": review, "hidden": hidden, "errors": review.errors or {}}
    return page(request, "ledger/review.html", context, status_code=422 if review.errors else 200)


async def _confirmed_with_code(actor: Actor, review: Review, what: str) -> Review | None:
    """None when the confirm may book; else the review again, with the code's refusal next to its field."""
    try:
        await auth.confirm_with_code(
            actor, review.amount, review.currency, review.data.get("otp", ""), what=what
        )
    except ValidationFailed as exc:
        return replace(
            review, code_required=True, errors=field_errors(exc.errors, exc.detail), message=exc.detail
        )
    return None


@dataclass(frozen=True)
class ListFilter:
    """The transfers list's search as read from the query string (field errors collected, not raised)."""

    params: dict[str, str]
    service: dict[str, Any]
    errors: dict[str, list[str]]

    @property
    def active(self) -> bool:
        return any(v for k, v in self.params.items() if k not in ("account_id", "match"))


FILTER_FIELDS = ("account_id", "q", "match", "kind", "status", "start", "end", "amount_min", "amount_max")


def _read_filter(request: Request[Any, Any, Any]) -> ListFilter:
    params = {name: str(request.query_params.get(name, "") or "").strip()[:100] for name in FILTER_FIELDS}
    service: dict[str, Any] = {
        "account_id": params["account_id"] or None,
        "q": params["q"] or None,
        "match": "contains" if params["match"] == "contains" else "prefix",
    }
    errors: dict[str, list[str]] = {}
    if params["kind"]:
        if params["kind"] in services.LINE_KINDS:
            service["kind"] = params["kind"]
        else:
            errors["kind"] = [gettext("Choose a kind from the list.")]
    if params["status"]:
        if params["status"] in services.LINE_STATUSES:
            service["status"] = params["status"]
        else:
            errors["status"] = [gettext("Choose a status from the list.")]
    for name, key in (("start", "created_from"), ("end", "created_to")):
        if params[name]:
            try:
                day = date.fromisoformat(params[name]) + timedelta(days=1 if name == "end" else 0)
                service[key] = datetime.combine(day, time.min, tzinfo=WIB)
            except ValueError:
                errors[name] = [gettext("Enter a date like 2026-11-03.")]
    if (
        service.get("created_from")
        and service.get("created_to")
        and service["created_to"] <= service["created_from"]
    ):
        errors["end"] = [gettext("The end date is before the start date.")]
    for name in ("amount_min", "amount_max"):
        if params[name]:
            try:
                service[name] = parse_amount(params[name], "IDR", locale=i18n.babel_locale(), pointer=name)
            except ValidationFailed as exc:
                errors[name] = [e.detail for e in exc.errors] or [exc.detail]
    return ListFilter(params, service, errors)


def _kind_options() -> list[tuple[str, str]]:
    from portal.domains.ledger.labels import kind_label

    return [(k, kind_label(k)) for k in services.LINE_KINDS]


def _status_options() -> list[tuple[str, str]]:
    words = {
        "pending": gettext("Pending"),
        "posted": gettext("Posted"),
        "voided": gettext("Voided"),
        "expired": gettext("Expired"),
        "refunded": gettext("Refunded"),
    }
    return [(k, words[k]) for k in services.LINE_STATUSES]


async def _search_lines(
    actor: Actor, flt: ListFilter, *, after: str | None, limit: int
) -> tuple[list[Any], dict[str, str], str | None, str]:
    """Lines matching the filter; a reference search tries the prefix (indexed) first, then anywhere."""
    match = flt.service["match"]
    rows, next_cursor = await services.list_transfer_rows(
        actor, **{**flt.service, "match": match}, lines=True, limit=limit, after=after
    )
    if not rows and flt.service.get("q") and match == "prefix" and not after:
        match = "contains"
        rows, next_cursor = await services.list_transfer_rows(
            actor, **{**flt.service, "match": match}, lines=True, limit=limit
        )
    found, names = await history.lines(actor, rows, account_id=flt.service["account_id"])
    return found, names, next_cursor, match


@get("/transfers", operation_id="transfers_list", guards=[requires("transfers")])
async def transfers_list(request: Request[Any, Any, Any], actor: Actor, after: str = "") -> Response[str]:
    flt = _read_filter(request)
    found: list[Any] = []
    names: dict[str, str] = {}
    next_cursor = None
    match = flt.service["match"]
    if not flt.errors:
        found, names, next_cursor, match = await _search_lines(actor, flt, after=after or None, limit=50)
    shown = {**flt.params, "match": match if flt.params["q"] else ""}
    next_url = query("/transfers", **shown, after=next_cursor) if next_cursor else None
    context = {
        "lines": found,
        "names": names,
        "filter": flt.params,
        "errors": flt.errors,
        "filtered": flt.active,
        "export_csv": query("/transfers/export.csv", **shown),
        "export_xlsx": query("/transfers/export.xlsx", **shown),
        "kind_options": _kind_options(),
        "status_options": _status_options(),
        "account_id": flt.params["account_id"],
        "reference": flt.params["q"],
        "next_url": next_url,
        "can_move": actor.can("transfers", "manage"),
    }
    block = "rows" if after and htmx(request) else "content"
    return page(
        request, "ledger/transfers.html", context, block=block, status_code=422 if flt.errors else 200
    )


EXPORT_LIMIT = 10_000


async def _export_rows(actor: Actor, flt: ListFilter) -> list[list[Any]]:
    """What the list shows, every page of it (up to EXPORT_LIMIT lines): one row per line."""
    if flt.errors:
        raise ValidationFailed(
            gettext("The search has invalid fields."),
            errors=[FieldError(k, v[0]) for k, v in flt.errors.items()],
        )
    out: list[list[Any]] = []
    after = None
    while len(out) < EXPORT_LIMIT:
        found, names, after, match = await _search_lines(actor, flt, after=after, limit=100)
        flt = ListFilter(flt.params, {**flt.service, "match": match}, {})
        for line in found:
            out.append(
                [
                    to_wib(line.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    line.label,
                    names.get(line.from_id, line.from_id),
                    names.get(line.to_id, line.to_id),
                    line.reference,
                    line.description,
                    _status_options_map().get(line.status, line.status),
                    line.amount,
                    line.currency,
                    line.id,
                ]
            )
        if not after:
            break
    return out


def _status_options_map() -> dict[str, str]:
    return dict(_status_options())


def _export_header() -> list[str]:
    return [
        gettext("Booked (WIB)"),
        gettext("Kind"),
        i18n.pgettext("transfer source account", "From"),
        i18n.pgettext("transfer destination account", "To"),
        gettext("Reference"),
        gettext("Description"),
        gettext("Status"),
        gettext("Amount"),
        gettext("Currency"),
        gettext("Transfer id"),
    ]


@get("/transfers/export.csv", operation_id="transfers_export_csv", guards=[requires("transfers")])
async def transfers_export_csv(request: Request[Any, Any, Any], actor: Actor) -> Response[bytes]:
    """The transfers list as it is filtered, as CSV (text cells escaped against formulas)."""
    rows = await _export_rows(actor, _read_filter(request))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_export_header())
    for row in rows:
        writer.writerow([v if isinstance(v, int) else escape_text(str(v)) for v in row])
    return Response(
        ("\ufeff" + buffer.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transfers.csv"'},
    )


@get("/transfers/export.xlsx", operation_id="transfers_export_xlsx", guards=[requires("transfers")])
async def transfers_export_xlsx(request: Request[Any, Any, Any], actor: Actor) -> Response[bytes]:
    """The transfers list as it is filtered, as an Excel workbook (amounts are numbers, text is text)."""
    import xlsxwriter

    rows = await _export_rows(actor, _read_filter(request))
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(gettext("Transfers")[:31])
    bold = book.add_format({"bold": True})
    for col, title in enumerate(_export_header()):
        sheet.write_string(0, col, title, bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, str(value))
    book.close()
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="transfers.xlsx"'},
    )


@get("/transfers/{transfer_id:str}", operation_id="transfer_detail", guards=[requires("transfers")])
async def transfer_detail(request: Request[Any, Any, Any], actor: Actor, transfer_id: str) -> Response[str]:
    """One transfer with its timeline: booked or held, posted / released / expired, reversed; by whom."""
    row = await services.get_transfer_row(actor, transfer_id)
    found, names = await history.lines(actor, [_as_line_row(row)])
    timeline = await history.transfer_timeline(actor, row)
    context = {"t": row, "line": found[0], "names": names, "timeline": timeline.ordered()}
    context["source_href"] = _source_href(row["source_id"] or "")
    return page(request, "ledger/transfer.html", context)


def _as_line_row(row: Any) -> dict[str, Any]:
    data = dict(row)
    data.setdefault("line_status", "posted" if data["phase"] != "pending" else "pending")
    data.setdefault("hold_posted_amount", None)
    return data


def _source_href(source_id: str) -> str | None:
    if source_id.startswith("wdr_"):
        return f"/withdrawals/{source_id}"
    if source_id.startswith("top_"):
        return f"/topups/{source_id}"
    return None


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
        target = await _account_of(actor, data.get("to_account_id", ""), "to_account_id")
        rows = [
            (i18n.pgettext("transfer source account", "From"), source.name),
            (i18n.pgettext("transfer destination account", "To"), target.name),
            (gettext("Reference"), data.get("reference", "")),
            (gettext("Description"), data.get("description", "")),
        ]
        review = Review(
            gettext("Check the transfer"),
            "/transfers",
            amount,
            source.currency,
            rows,
            data,
            source.available,
            await auth.code_required(actor, amount, source.currency),
        )
        if _reviewing(data):
            return review
        if refused := await _confirmed_with_code(actor, review, f"a transfer to {target.name}"):
            return refused
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
        rows = [(gettext("Account"), account.name), (gettext("Reference"), data.get("reference", ""))]
        if kind == "withdrawal" and account.settlement_bank is not None:
            bank = account.settlement_bank
            rows.insert(
                1,
                (
                    gettext("To bank account"),
                    f"{bank.holder_name} · {bank.bank_code} {bank.account_number}",
                ),
            )
        withdrawal = kind == "withdrawal"
        review = Review(
            title,
            action,
            amount,
            account.currency,
            rows,
            data,
            account.available if withdrawal else None,
            # a top-up moves money in: only a withdrawal above the threshold asks for a code
            withdrawal and await auth.code_required(actor, amount, account.currency),
        )
        if _reviewing(data):
            return review
        if withdrawal and (
            refused := await _confirmed_with_code(actor, review, f"a withdrawal from {account.name}")
        ):
            return refused
        return await create(actor, account_id=account.id, amount=amount, reference=data.get("reference", ""))

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _simple_form(request, actor, template, data, errors, 422, message)

    def success(result: Any) -> str | Response[Any]:
        return _review_response(request, result) if isinstance(result, Review) else done(result)

    return await handle_form(request, order, render=render, success=success)


async def _send_form(
    request: Request[Any, Any, Any],
    actor: Actor,
    data: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
    message: str = "",
) -> Response[str]:
    q = data.get("q", "")
    recipient = None
    if data.get("to_account_id"):
        recipient = await services.get_recipient(actor, data["to_account_id"])
    context = {
        "form": data,
        "errors": errors,
        "message": message,
        "options": await _options(actor),
        "q": q,
        "recipients": await services.search_recipients(actor, q) if q else [],
        "recipient": recipient,
    }
    return page(request, "ledger/send_form.html", context, status_code=status)


@get("/transfers/send", operation_id="transfers_send_new", guards=[requires("transfers", "manage")])
async def transfers_send_new(
    request: Request[Any, Any, Any],
    actor: Actor,
    q: str = "",
    to_account_id: str = "",
    from_account_id: str = "",
) -> Response[str]:
    data = {"q": q, "to_account_id": to_account_id, "from_account_id": from_account_id}
    if not from_account_id and len(options := await _options(actor)) == 1:
        data["from_account_id"] = options[0][0]
    data["reference"] = _reference()
    return await _send_form(request, actor, data, {})


@post("/transfers/send", operation_id="transfers_send", guards=[requires("transfers", "manage")])
async def transfers_send(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Send money from one of the actor's accounts to an account found by name (review, then book)."""
    if _editing(data := await posted(request)):
        return await _send_form(request, actor, data, {})

    async def send(data: dict[str, str]) -> Any:
        source = await _account_of(actor, data.get("from_account_id", ""), "from_account_id")
        target = await services.get_recipient(actor, data.get("to_account_id", ""), "to_account_id")
        amount = _amount(data, source.currency)
        to = f"{target.name} ({target.reference})" if target.reference else target.name
        rows = [
            (i18n.pgettext("transfer source account", "From"), source.name),
            (i18n.pgettext("transfer destination account", "To"), to),
            (gettext("Reference"), data.get("reference", "")),
            (gettext("Description"), data.get("description", "")),
        ]
        title = gettext("Check the payment")
        review = Review(
            title,
            "/transfers/send",
            amount,
            source.currency,
            rows,
            data,
            source.available,
            await auth.code_required(actor, amount, source.currency),
        )
        if _reviewing(data):
            return review
        if refused := await _confirmed_with_code(actor, review, f"a payment to {target.name}"):
            return refused
        return await services.send_to_account(
            actor,
            from_account_id=source.id,
            to_account_id=target.id,
            amount=amount,
            reference=data.get("reference", ""),
            description=data.get("description") or None,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _send_form(request, actor, data, errors, 422, message)

    def done(result: Any) -> str | Response[Any]:
        if isinstance(result, Review):
            return _review_response(request, result)
        return query(f"/accounts/{result.from_account_id}", transferred=result.id)

    return await handle_form(request, send, render=render, success=done)


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


@get(
    "/withdrawals/{withdrawal_id:str}",
    operation_id="withdrawal_detail",
    guards=[requires("transfers")],
)
async def withdrawal_detail(
    request: Request[Any, Any, Any], actor: Actor, withdrawal_id: str
) -> Response[str]:
    """One withdrawal: the bank account, amount and fee, its timeline and every ledger line it made."""
    withdrawal = await services.get_withdrawal(actor, withdrawal_id)
    account = await accounts.get_account_row(actor, withdrawal.account_id)
    banks = dict(await accounts.list_banks())
    found = await history.withdrawal_lines(actor, withdrawal.id, account.id)
    names = await services.account_names(list({x.from_id for x in found} | {x.to_id for x in found}))
    context = {
        "w": withdrawal,
        "account": account,
        "bank_name": banks.get(withdrawal.bank.bank_code, withdrawal.bank.bank_code),
        "timeline": (await history.withdrawal_timeline(actor, withdrawal)).ordered(),
        "lines": found,
        "names": names,
        "can_operate": actor.can("payouts", "manage"),
    }
    return page(request, "ledger/withdrawal.html", context)


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
            transfers_export_csv,
            transfers_export_xlsx,
            transfer_detail,
            withdrawal_detail,
            transfers_new,
            transfers_create,
            transfers_send_new,
            transfers_send,
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
