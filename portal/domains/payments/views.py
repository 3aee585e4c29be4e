"""Payments pages: the payments list (filters, search), the create form (htmx), a payment's detail with
its timeline, settlement batches (page and CSV/XLSX export), payment settings (MDR, default settlement
account, the split settlement service), split rules, and the Reconciled Transactions report with its
Settlement Configuration pop-up. Thin controllers over payments.services."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post

from portal.domains.accounts import services as accounts
from portal.domains.payments import services
from portal.domains.provider.gateway import VA_BANKS, WALLETS
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.money import parse_amount
from portal.lib.spreadsheet import escape_text
from portal.server.forms import field_errors, handle_form, pages_router, posted, query, see_other
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page


async def _account_options(actor: Actor) -> list[tuple[str, str]]:
    rows = await accounts.subtree_rows(actor)
    return [
        (r.id, r.name) for r in rows if r.status != "closed" and r.currency == "IDR" and r.kind != "system"
    ]


def _channels() -> list[tuple[str, str]]:
    from portal.domains.payments.labels import channel_label

    return [(c, channel_label(c)) for c in services.CHANNELS]


def _statuses() -> list[tuple[str, str]]:
    from portal.domains.payments.labels import payment_status_label

    return [(s, payment_status_label(s)) for s in services.STATUSES]


# --- payments -------------------------------------------------------------------------------------


@get("/payments", guards=[requires("payments")])
async def payments_list(
    request: Request[Any, Any, Any],
    actor: Actor,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    account_id: str | None = None,
    after: str | None = None,
) -> Response[str]:
    """Payments in scope with filters (status, channel, account) and search (invoice, customer)."""
    listing = await services.list_payments(
        actor,
        status=status or None,
        channel=channel or None,
        q=q or None,
        account_id=account_id or None,
        after=after,
    )
    names = dict(await _account_options(actor))
    context = {
        "payments": listing.data,
        "next_url": query(
            "/payments", status=status, channel=channel, q=q, account_id=account_id, after=listing.next_cursor
        )
        if listing.next_cursor
        else None,
        "filters": {
            "status": status or "",
            "channel": channel or "",
            "q": q or "",
            "account_id": account_id or "",
        },
        "statuses": _statuses(),
        "channels": _channels(),
        "accounts": list(names.items()),
        "names": names,
        "can_manage": actor.can("payments", "manage"),
    }
    return page(request, "payments/list.html", context)


async def _form_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    data: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
) -> Response[str]:
    context = {
        "form": data,
        "errors": errors,
        "options": await _account_options(actor),
        "channels": _channels(),
        "banks": [(code, f"{name} ({code})") for code, name in VA_BANKS.items()],
        "wallets": [(w, w.title()) for w in WALLETS],
    }
    return page(request, "payments/new.html", context, status_code=status)


@get("/payments/new", guards=[requires("payments", "manage")])
async def payments_new(request: Request[Any, Any, Any], actor: Actor, account_id: str = "") -> Response[str]:
    """The form asking a customer for a payment."""
    return await _form_page(
        request, actor, {"account_id": account_id, "channel": "va", "bank_code": "014"}, {}
    )


def _expiry(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            gettext("expires_at must be a date and time."),
            errors=[FieldError("expires_at", gettext("invalid"))],
        ) from None
    if moment.tzinfo is None:
        from portal.domains.payouts.router import WIB

        moment = moment.replace(tzinfo=WIB)
    return moment


@post("/payments", guards=[requires("payments", "manage")])
async def payments_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Create the payment; refusals re-render the form with each error on its field (422)."""

    async def create(data: dict[str, str]) -> Any:
        amount = parse_amount(data.get("amount", ""), "IDR", locale=i18n.babel_locale(), pointer="amount")
        channel = data.get("channel", "")
        return await services.create_payment(
            actor,
            services.PaymentRequest(
                account_id=data.get("account_id", ""),
                amount=amount,
                channel=channel,
                invoice_number=data.get("invoice_number", ""),
                customer_id=data.get("customer_id") or None,
                customer_name=data.get("customer_name", ""),
                customer_email=data.get("customer_email") or None,
                description=data.get("description") or None,
                expires_at=_expiry(data.get("expires_at", "")),
                bank_code=data.get("bank_code") if channel == "va" else None,
                wallet=data.get("wallet") if channel == "ewallet" else None,
                phone=data.get("phone") if channel == "ewallet" else None,
                card_token=data.get("card_token") if channel == "card" else None,
                source="portal",
            ),
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _form_page(request, actor, data, errors, 422)

    return await handle_form(request, create, render=render, success=lambda p: f"/payments/{p.id}")


def _timeline(payment: Any, refunds: list[Any]) -> list[tuple[Any, str]]:
    """What happened to the payment, in order (a label for each moment)."""
    events: list[tuple[Any, str]] = [(payment.created_at, gettext("Payment asked of the customer"))]
    if payment.paid_at:
        events.append((payment.paid_at, gettext("Payment Success: pending in on the account")))
    for refund in refunds:
        events.append(
            (refund.created_at, gettext("Refund of %(amount)s") % {"amount": i18n_money(refund.amount)})
        )
    if payment.settled_at:
        if payment.remark:
            events.append((payment.settled_at, gettext("Pending Settlement")))
        else:
            events.append((payment.settled_at, gettext("Settled")))
    if payment.status in ("expired", "failed", "voided"):
        from portal.domains.payments.labels import payment_status_label

        events.append((None, payment_status_label(payment.status)))
    return events


def i18n_money(amount: int) -> str:
    from portal.lib.money import format_money

    return format_money(amount, "IDR", str(i18n.babel_locale()))


@get("/payments/{payment_id:str}", guards=[requires("payments")])
async def payment_detail(request: Request[Any, Any, Any], actor: Actor, payment_id: str) -> Response[str]:
    """A payment with its payment instructions, settlement and timeline."""
    payment = await services.get_payment(actor, payment_id)
    refunds = await services.list_refunds(actor, payment_id)
    names = dict(await _account_options(actor))
    context = {
        "p": payment,
        "refunds": refunds,
        "timeline": _timeline(payment, refunds),
        "names": names,
        "can_manage": actor.can("payments", "manage"),
        "sandbox": actor.business_mode == "sandbox",
        "bank_name": VA_BANKS.get(payment.bank_code or "", payment.bank_code),
        "errors": {},
    }
    return page(request, "payments/detail.html", context)


@post("/payments/{payment_id:str}/simulate-payment", guards=[requires("payments", "manage")])
async def payment_simulate(request: Request[Any, Any, Any], actor: Actor, payment_id: str) -> Response[Any]:
    """Sandbox: the customer pays now."""
    await services.simulate_payment(actor, payment_id)
    return see_other(request, f"/payments/{payment_id}")


@post("/payments/{payment_id:str}/refunds", guards=[requires("payments", "manage")])
async def payment_refund(request: Request[Any, Any, Any], actor: Actor, payment_id: str) -> Response[Any]:
    """Refund all or part of the payment."""
    data = await posted(request)
    try:
        text = data.get("amount", "").strip()
        amount = parse_amount(text, "IDR", locale=i18n.babel_locale(), pointer="amount") if text else None
        await services.refund_payment(actor, payment_id, amount, data.get("reason"))
    except NeracaError as exc:
        if exc.status not in (409, 422):
            raise
        payment = await services.get_payment(actor, payment_id)
        refunds = await services.list_refunds(actor, payment_id)
        context = {
            "p": payment,
            "refunds": refunds,
            "timeline": _timeline(payment, refunds),
            "names": dict(await _account_options(actor)),
            "can_manage": True,
            "sandbox": actor.business_mode == "sandbox",
            "bank_name": VA_BANKS.get(payment.bank_code or "", payment.bank_code),
            "errors": field_errors(exc.errors, exc.detail),
        }
        return page(request, "payments/detail.html", context, status_code=422)
    return see_other(request, f"/payments/{payment_id}")


# --- settlement batches ---------------------------------------------------------------------------


@get("/payments/settlements", guards=[requires("payments")])
async def settlements_list(
    request: Request[Any, Any, Any], actor: Actor, status: str | None = None, after: str | None = None
) -> Response[str]:
    """Settlement batches, newest first."""
    listing = await services.list_settlements(actor, status=status, after=after)
    context = {
        "settlements": listing.data,
        "next_url": query("/payments/settlements", status=status, after=listing.next_cursor)
        if listing.next_cursor
        else None,
    }
    return page(request, "payments/settlements.html", context)


@get("/payments/settlements/{settlement_id:str}", guards=[requires("payments")])
async def settlement_detail(
    request: Request[Any, Any, Any], actor: Actor, settlement_id: str
) -> Response[str]:
    """One batch: totals, settlement date and its payments."""
    detail = await services.get_settlement(actor, settlement_id)
    context = {
        "s": detail.settlement,
        "lines": detail.lines,
        "deductions": detail.deductions,
        "names": dict(await _account_options(actor)),
    }
    return page(request, "payments/settlement.html", context)


@get("/payments/deductions", guards=[requires("payments")])
async def deductions_list(
    request: Request[Any, Any, Any], actor: Actor, status: str | None = None, after: str | None = None
) -> Response[str]:
    """Refund deductions: what each destination owes, what the batches and the balance took, what is
    still owed."""
    listing = await services.list_deductions(actor, status=status, after=after)
    context = {
        "deductions": listing.data,
        "status": status,
        "grace_days": (await services.get_settings(actor)).deduction_grace_days,
        "names": dict(await _account_options(actor)),
        "next_url": query("/payments/deductions", status=status, after=listing.next_cursor)
        if listing.next_cursor
        else None,
    }
    return page(request, "payments/deductions.html", context)


SETTLEMENT_HEADERS = (
    "payment_id",
    "invoice_number",
    "account_id",
    "amount",
    "fee",
    "refunded",
    "refund_fee",
    "net",
)


@get("/payments/settlements/{settlement_id:str}/export", guards=[requires("payments")])
async def settlement_export(actor: Actor, settlement_id: str, format: str = "csv") -> Response[bytes]:
    """The batch's lines as CSV or XLSX (text cells escaped against formula injection)."""
    detail = await services.get_settlement(actor, settlement_id)
    rows = [
        [
            line.payment_id,
            line.invoice_number,
            line.account_id,
            line.amount,
            line.fee,
            line.refunded,
            line.refund_fee,
            line.net,
        ]
        for line in detail.lines
    ]
    name = f"settlement-{detail.settlement.id}"
    if format == "xlsx":
        import xlsxwriter

        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet("Settlement")
        for col, header in enumerate(SETTLEMENT_HEADERS):
            sheet.write_string(0, col, header)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if isinstance(value, int):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        workbook.close()
        return Response(
            buffer.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(SETTLEMENT_HEADERS)
    for row in rows:
        writer.writerow([value if isinstance(value, int) else escape_text(str(value)) for value in row])
    return Response(
        text.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# --- settings -------------------------------------------------------------------------------------


async def _settings_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response[str]:
    current = await services.get_settings(actor)
    context = {
        "s": current,
        "options": await _account_options(actor),
        "errors": errors or {},
        "can_manage": actor.can("payments", "manage") and actor.scope_account_id is None,
        "sandbox": actor.business_mode == "sandbox",
        "percent": lambda rate: f"{rate / 100:g}",
    }
    return page(request, "payments/settings.html", context, status_code=status)


@get("/payments/settings", guards=[requires("payments")])
async def settings_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """Settings → Settlement and Services: MDR per channel, the default settlement account, split "
    "settlement."""
    return await _settings_page(request, actor)


def _rate(value: str, name: str) -> int:
    try:
        return round(float(value.replace(",", ".")) * 100)
    except ValueError:
        raise ValidationFailed(
            gettext("A percentage is a number."), errors=[FieldError(name, gettext("invalid"))]
        ) from None


@post("/payments/settings", guards=[requires("payments", "manage")])
async def settings_save(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    data = await posted(request)
    try:
        changes: dict[str, Any] = {
            "default_settlement_account_id": data.get("default_settlement_account_id") or None
        }
        for name in ("qris_rate", "card_rate", "ewallet_rate"):
            if data.get(name, "").strip():
                changes[name] = _rate(data[name], name)
        for name in ("va_flat", "card_flat"):
            if data.get(name, "").strip():
                changes[name] = parse_amount(data[name], "IDR", locale=i18n.babel_locale(), pointer=name)
        days = data.get("deduction_grace_days", "").strip()
        if days:
            # A number that is not whole is refused by the service on the field.
            changes["deduction_grace_days"] = int(days) if days.isdigit() else days
        await services.update_settings(actor, changes)
    except NeracaError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await _settings_page(request, actor, field_errors(exc.errors, exc.detail), 422)
    return see_other(request, "/payments/settings")


@post("/payments/settings/split-service", guards=[requires("payments", "manage")])
async def settings_split_service(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Add service → Split Settlement: UPDATING until verified."""
    await services.request_split_service(actor)
    return see_other(request, "/payments/settings")


@post("/payments/settings/split-service/refresh", guards=[requires("payments", "manage")])
async def settings_split_refresh(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Ask the provider again whether it has verified the service (UPDATING → ACTIVE)."""
    await services.refresh_split_service(actor)
    return see_other(request, "/payments/settings")


# --- split rules and the Reconciled Transactions report ------------------------------------------


@get("/splits", guards=[requires("splits")])
async def splits_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """Split rules (created over the API) and the way to per-transaction configuration."""
    rules = await services.list_rules(actor, limit=100)
    names = dict(await _account_options(actor))
    return page(request, "payments/splits.html", {"rules": rules.data, "names": names})


@get("/reports/reconciled", guards=[requires("splits")])
async def reconciled(
    request: Request[Any, Any, Any],
    actor: Actor,
    status: str | None = None,
    invoice: str | None = None,
    split: str | None = None,
    after: str | None = None,
) -> Response[str]:
    """Reports → Reconciled Transactions: paid payments by status, invoice number and "Split Settlement"."""
    wanted = (
        status
        if status in ("paid", "pending_settlement", "settled", "partially_refunded", "refunded")
        else None
    )
    listing = await services.list_payments(
        actor,
        status=wanted,
        q=invoice or None,
        split={"yes": True, "no": False}.get(split or ""),
        after=after,
    )
    rows = [p for p in listing.data if p.paid_at is not None]
    context = {
        "payments": rows,
        "filters": {"status": wanted or "", "invoice": invoice or "", "split": split or ""},
        "statuses": [
            s
            for s in _statuses()
            if s[0] in ("paid", "pending_settlement", "settled", "partially_refunded", "refunded")
        ],
        "totals": {
            "amount": sum(p.amount for p in rows),
            "fee": sum(p.fee for p in rows),
            "count": len(rows),
        },
        "next_url": query(
            "/reports/reconciled", status=wanted, invoice=invoice, split=split, after=listing.next_cursor
        )
        if listing.next_cursor
        else None,
        "names": dict(await _account_options(actor)),
    }
    return page(request, "payments/reconciled.html", context)


def _rows_from(data: dict[str, str]) -> list[dict[str, str]]:
    """The pop-up's destination rows as posted (`dest_0`, `value_0`, …), in order."""
    rows = []
    for i in range(services_max()):
        if f"dest_{i}" not in data:
            continue
        rows.append({"dest": data.get(f"dest_{i}", ""), "value": data.get(f"value_{i}", "")})
    return rows


def services_max() -> int:
    from portal.domains.payments.services.allocation import MAX_DESTINATIONS

    return MAX_DESTINATIONS + 1


def _rows_of(payment: Any) -> list[dict[str, str]]:
    rows = []
    for d in payment.split or []:
        dest = f"account:{d['account_id']}" if d["kind"] == "account" else f"bank:{d['beneficiary_id']}"
        value = f"{d['percent']:g}" if d.get("percent") is not None else str(d.get("amount"))
        rows.append({"dest": dest, "value": value})
    return rows


def _destinations(rows: list[dict[str, str]], split_by: str) -> list[dict[str, Any]]:
    """The rows as service destinations; a value is read as a percentage or a rupiah amount."""
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        kind, _, ident = row["dest"].partition(":")
        value = row["value"].strip()
        if not ident:
            raise ValidationFailed(
                gettext("Choose a destination for every row."),
                errors=[FieldError(f"/destinations/{i}/dest", gettext("required"))],
            )
        entry: dict[str, Any] = {"kind": kind}
        entry["account_id" if kind == "account" else "beneficiary_id"] = ident
        if split_by == "percent":
            try:
                entry["percent"] = float(value.replace(",", "."))
            except ValueError:
                entry["percent"] = value
        else:
            entry["amount"] = parse_amount(
                value, "IDR", locale=i18n.babel_locale(), pointer=f"/destinations/{i}/amount"
            )
        out.append(entry)
    return out


async def _destination_options(actor: Actor) -> list[tuple[str, str]]:
    options = [(f"account:{i}", name) for i, name in await _account_options(actor)]
    from portal.lib import sql

    rows = await sql.fetch(
        "SELECT id, bank_code, account_number, holder_name FROM beneficiary WHERE business_id = $1 "
        "AND kind = 'bank' "
        "ORDER BY holder_name",
        actor.business_id,
    )
    options += [
        (
            f"bank:{r['id']}",
            f"{r['holder_name']} · {VA_BANKS.get(r['bank_code'], r['bank_code'])} "
            f"…{r['account_number'][-4:]}",
        )
        for r in rows
    ]
    return options


async def _configuration(
    request: Request[Any, Any, Any],
    actor: Actor,
    payment_id: str,
    rows: list[dict[str, str]],
    split_by: str,
    *,
    errors: dict[str, list[str]] | None = None,
    preview: Any = None,
    saved: bool = False,
    status: int = 200,
) -> Response[str]:
    payment = await services.get_payment(actor, payment_id)
    context = {
        "p": payment,
        "rows": rows,
        "split_by": split_by,
        "options": await _destination_options(actor),
        "errors": errors or {},
        "preview": preview,
        "saved": saved,
        "editable": payment.status in ("paid", "pending_settlement")
        and (payment.settlement_id is None or payment.status == "pending_settlement"),
        "total": payment.amount - payment.fee - payment.refunded_amount,
        "max_rows": services_max() - 1,
    }
    return page(request, "payments/configuration.html", context, block="dialog", status_code=status)


@get("/reports/reconciled/{payment_id:str}/configuration", guards=[requires("splits")])
async def configuration(request: Request[Any, Any, Any], actor: Actor, payment_id: str) -> Response[str]:
    """The Settlement Configuration pop-up of one transaction."""
    payment = await services.get_payment(actor, payment_id)
    rows = _rows_of(payment)
    split_by = "amount" if any(d.get("amount") is not None for d in payment.split or []) else "percent"
    return await _configuration(request, actor, payment_id, rows, split_by)


@post("/reports/reconciled/{payment_id:str}/configuration", guards=[requires("splits", "manage")])
async def configuration_post(request: Request[Any, Any, Any], actor: Actor, payment_id: str) -> Response[str]:
    """The pop-up's buttons: Add more bank, remove a row, Split by, Reset, dry run, Save Configuration."""
    data = await posted(request)
    op = data.get("op", "save")
    split_by = data.get("split_by", "percent") if data.get("split_by") in ("percent", "amount") else "percent"
    rows = _rows_from(data)
    if op == "add":
        rows.append({"dest": "", "value": ""})
        return await _configuration(request, actor, payment_id, rows, split_by)
    if op.startswith("remove:"):
        index = op.removeprefix("remove:")
        rows = [r for i, r in enumerate(rows) if str(i) != index]
        return await _configuration(request, actor, payment_id, rows, split_by)
    if op == "reset":
        return await _configuration(request, actor, payment_id, [], split_by)
    if op == "split_by":
        return await _configuration(request, actor, payment_id, rows, split_by)
    try:
        destinations = _destinations(rows, split_by)
        if op == "preview":
            result = await services.preview(actor, destinations, payment_id=payment_id)
            return await _configuration(request, actor, payment_id, rows, split_by, preview=result)
        # One remaining row with the whole amount, or none: the split is cancelled (the reference's rule).
        await services.update_payment_split(
            actor, payment_id, destinations if len(destinations) > 1 or _partial(destinations) else []
        )
    except NeracaError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await _configuration(
            request, actor, payment_id, rows, split_by, errors=_row_errors(exc), status=422
        )
    payment = await services.get_payment(actor, payment_id)
    return await _configuration(request, actor, payment_id, _rows_of(payment), split_by, saved=True)


def _partial(destinations: list[dict[str, Any]]) -> bool:
    """A single destination that does not take everything is still a split (the rest is the remainder)."""
    if len(destinations) != 1:
        return False
    only = destinations[0]
    return only.get("amount") is not None or (only.get("percent") not in (None, 100, 100.0))


def _row_errors(exc: NeracaError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in exc.errors:
        parts = error.pointer.strip("/").split("/")
        key = (
            f"row_{parts[1]}"
            if len(parts) >= 2 and parts[0] == "destinations" and parts[1].isdigit()
            else "__all__"
        )
        out.setdefault(key, []).append(error.detail)
    if not out or "__all__" not in out:
        out["__all__"] = [exc.detail]
    return out


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [
            payments_list,
            payments_new,
            payments_create,
            settlements_list,
            settings_page,
            settings_save,
            settings_split_service,
            settings_split_refresh,
            payment_detail,
            payment_simulate,
            payment_refund,
            settlement_detail,
            settlement_export,
            deductions_list,
            splits_page,
            reconciled,
            configuration,
            configuration_post,
        ],
    )
]
