"""What the invoices services share: validation of ids and input, row → API object, the actor's scope,
the WIB day, and the activity log."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg

from portal.domains.invoices.schemas import InvoiceOut, LineOut, PlanOut, StepOut, SubscriptionOut
from portal.domains.payouts.router import WIB
from portal.lib import clock
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.lib.i18n import N_

_ID = re.compile(r"^[a-z]{2,5}_[0-9a-z]{26}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def today() -> date:
    """Today in WIB by `portal.lib.clock` (periods and due dates are WIB days)."""
    return clock.now().astimezone(WIB).date()


def wib_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(UTC)


def number_label(number: int) -> str:
    """The printed invoice number: INV-000042."""
    return f"INV-{number:06d}"


def percent_label(bp: int) -> str:
    """Basis points as a per-cent string without trailing zeros: 1100 → "11", 250 → "2.5"."""
    whole, rest = divmod(bp, 100)
    return str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")


def require_whole_business(actor: Actor) -> None:
    """Plans and settings belong to the whole business: a scoped actor may not change them."""
    actor.require("invoices", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can change billing plans."))


def not_found(kind: str, object_id: str, pointer: str) -> NotFound:
    messages = {
        "plan": N_("Plan %(id)s was not found."),
        "subscription": N_("Subscription %(id)s was not found."),
        "invoice": N_("Invoice %(id)s was not found."),
    }
    return NotFound(
        messages[kind], params={"id": object_id[:40]}, errors=[FieldError(pointer, N_("not found"))]
    )


def check_id(value: Any, prefix: str, kind: str, pointer: str) -> str:
    text = str(value or "")
    if not _ID.match(text) or not text.startswith(prefix + "_"):
        raise not_found(kind, text, pointer)
    return text


def optional_id(value: str | None, pointer: str) -> str | None:
    """A filter or cursor that must be an id when given (anything else is 422, never a query error)."""
    if value in (None, ""):
        return None
    if not _ID.match(str(value)):
        raise ValidationFailed(
            N_("%(field)s is not an id."),
            params={"field": pointer.strip("/")},
            code="invalid_id",
            errors=[FieldError(pointer, N_("not an id"))],
        )
    return str(value)


def invalid(
    message: str, code: str, pointer: str, short: str, params: dict[str, Any] | None = None
) -> ValidationFailed:
    return ValidationFailed(message, params=params or {}, code=code, errors=[FieldError(pointer, short)])


def whole_number(value: Any, pointer: str, *, low: int, high: int) -> int:
    """An integer in [low, high] (digits in a string accepted, as forms send them)."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(
            N_("%(field)s must be a whole number from %(low)s to %(high)s."),
            "invalid_number",
            pointer,
            N_("out of range"),
            {"field": pointer.strip("/"), "low": low, "high": high},
        )
    return value


def clean_text(value: Any, pointer: str, max_len: int) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > max_len or _CONTROL.search(text):
        raise invalid(
            N_("%(field)s must be 1 to %(max)s characters of plain text."),
            "invalid_text",
            pointer,
            N_("invalid text"),
            {"field": pointer.strip("/"), "max": max_len},
        )
    return text


def parse_day(value: Any, pointer: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise invalid(
            N_("%(field)s must be a date (YYYY-MM-DD)."),
            "invalid_date",
            pointer,
            N_("not a date"),
            {"field": pointer.strip("/")},
        ) from None


def scope_clause(actor: Actor, args: list[Any], alias: str = "i") -> str:
    """The business filter and, for a scoped actor, the subtree filter on the invoice's account."""
    args.append(actor.business_id)
    clause = f"{alias}.business_id = ${len(args)}"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        clause += (
            f" AND EXISTS (SELECT 1 FROM account sa WHERE sa.business_id = {alias}.business_id "
            f"AND sa.id = {alias}.account_id AND sa.path LIKE ${len(args)})"
        )
    return clause


def plan_out(row: asyncpg.Record | dict[str, Any]) -> PlanOut:
    return PlanOut(
        id=row["id"],
        name=row["name"],
        currency=row["currency"],
        cycle=row["cycle"],
        fixed_amount=row["fixed_amount"],
        percent=percent_label(row["percent_bp"]),
        due_days=row["due_days"],
        tax_label=row["tax_label"],
        tax_percent=percent_label(row["tax_bp"]),
        receiving_account_id=row["receiving_account_id"],
        status=row["status"],
        created_at=row["created_at"],
    )


def subscription_out(row: asyncpg.Record | dict[str, Any]) -> SubscriptionOut:
    return SubscriptionOut(
        id=row["id"],
        plan_id=row["plan_id"],
        account_id=row["account_id"],
        cycle_day=row["cycle_day"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        next_period_start=row["period_start"],
        next_period_end=row["period_end"],
        status=row["status"],
        created_at=row["created_at"],
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def line_outs(lines: Any) -> list[LineOut]:
    return [LineOut(**line) for line in _json(lines)]


def invoice_out(row: asyncpg.Record | dict[str, Any], steps: list[Any] | None = None) -> InvoiceOut:
    due = row["total"] - row["paid_amount"] - row["written_off_amount"] if row["status"] == "open" else 0
    return InvoiceOut(
        id=row["id"],
        number=number_label(row["number"]),
        subscription_id=row["subscription_id"],
        plan_id=row["plan_id"],
        account_id=row["account_id"],
        receiving_account_id=row["receiving_account_id"],
        currency=row["currency"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        issued_at=row["issued_at"],
        due_on=row["due_on"],
        lines=line_outs(row["lines"]),
        subtotal=row["subtotal"],
        tax_label=row["tax_label"],
        tax_percent=percent_label(row["tax_bp"]),
        tax=row["tax"],
        total=row["total"],
        paid_amount=row["paid_amount"],
        credited_amount=row["credited_amount"],
        written_off_amount=row["written_off_amount"],
        amount_due=due,
        status=row["status"],
        overdue=row["overdue"],
        attempts=row["attempts"],
        next_attempt_on=row["next_attempt_on"],
        steps=None
        if steps is None
        else [
            StepOut(at=s["at"], kind=s["kind"], amount=s["amount"], detail=_json(s["detail"])) for s in steps
        ],
    )


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def event_data(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """An invoice as a webhook event's `data`: the API object without its lines and steps (retrieve the
    invoice for those), built directly field by field — a cycle writes one or two per invoice."""
    status = row["status"]
    return {
        "id": row["id"],
        "subscription_id": row["subscription_id"],
        "plan_id": row["plan_id"],
        "account_id": row["account_id"],
        "receiving_account_id": row["receiving_account_id"],
        "currency": row["currency"],
        "period_start": row["period_start"].isoformat(),
        "period_end": row["period_end"].isoformat(),
        "issued_at": row["issued_at"].isoformat(),
        "due_on": row["due_on"].isoformat(),
        "subtotal": row["subtotal"],
        "tax_label": row["tax_label"],
        "tax": row["tax"],
        "total": row["total"],
        "paid_amount": row["paid_amount"],
        "credited_amount": row["credited_amount"],
        "written_off_amount": row["written_off_amount"],
        "status": status,
        "overdue": row["overdue"],
        "attempts": row["attempts"],
        "next_attempt_on": _day(row["next_attempt_on"]),
        "number": number_label(row["number"]),
        "tax_percent": percent_label(row["tax_bp"]),
        "amount_due": row["total"] - row["paid_amount"] - row["written_off_amount"]
        if status == "open"
        else 0,
    }


async def audit(actor: Actor, action: str, summary: str, refs: dict[str, str]) -> None:
    from portal.domains.audit.services import record

    await record(actor, action, summary, refs=refs, business_id=actor.business_id)
