"""Payment settings of a business: the provider's fee (MDR) per channel, the default settlement account
(where the remainder of a split goes) and the split settlement service's activation."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.ledger.services.shared import audit
from portal.domains.payments.schemas import PaymentSettingsOut
from portal.domains.payments.services.allocation import FULL, Fees
from portal.domains.provider import gateway
from portal.domains.provider import services as provider
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.sql import transaction

RATE_FIELDS = ("qris_rate", "card_rate", "ewallet_rate")
# Days a refund deduction waits for the channel's batches before it is taken from the balance.
DEDUCTION_GRACE_DAYS = 14
FLAT_FIELDS = ("va_flat", "card_flat")


async def _row(business_id: str) -> dict[str, Any]:
    row = await sql.fetchrow("SELECT * FROM payment_settings WHERE business_id = $1", business_id)
    if row is None:
        return {
            "business_id": business_id,
            **Fees().__dict__,
            "default_settlement_account_id": None,
            "split_service": "inactive",
            "deduction_grace_days": DEDUCTION_GRACE_DAYS,
        }
    return dict(row)


async def fees_of(business_id: str) -> Fees:
    """The business's MDR (the provider's defaults until it sets its own)."""
    row = await _row(business_id)
    return Fees(**{name: int(row[name]) for name in (*FLAT_FIELDS, *RATE_FIELDS)})


async def default_settlement_account(business_id: str) -> str | None:
    """Settings → Settlement: where the remainder of a split goes (None: the payment's own account)."""
    return (await _row(business_id))["default_settlement_account_id"]


async def deduction_grace_days(business_id: str) -> int:
    """Settings → Settlement: days a deduction waits for the channel's batches before the settlement run
    takes what is still owed from the destination's available balance."""
    return int((await _row(business_id))["deduction_grace_days"])


async def split_service(business_id: str) -> str:
    return str((await _row(business_id))["split_service"])


def settings_out(row: dict[str, Any]) -> PaymentSettingsOut:
    return PaymentSettingsOut(
        va_flat=int(row["va_flat"]),
        qris_rate=int(row["qris_rate"]),
        card_rate=int(row["card_rate"]),
        card_flat=int(row["card_flat"]),
        ewallet_rate=int(row["ewallet_rate"]),
        default_settlement_account_id=row["default_settlement_account_id"],
        split_service=str(row["split_service"]),
        deduction_grace_days=int(row["deduction_grace_days"]),
    )


async def get_settings(actor: Actor) -> PaymentSettingsOut:
    """The business's payment settings."""
    actor.require("payments")
    return settings_out(await _row(actor.business_id))


def _whole_business(actor: Actor) -> None:
    actor.require("payments", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can change payment settings."))


async def update_settings(actor: Actor, changes: dict[str, Any]) -> PaymentSettingsOut:
    """Change the MDR per channel and the default settlement account (each value checked on its field)."""
    _whole_business(actor)
    row = await _row(actor.business_id)
    errors: list[FieldError] = []
    for name in (*RATE_FIELDS, *FLAT_FIELDS):
        if name not in changes:
            continue
        value = changes[name]
        top = FULL if name in RATE_FIELDS else 100_000_000
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            errors.append(
                FieldError(f"/{name}", N_("must be a whole number from 0 to %(max)s"), params={"max": top})
            )
            continue
        row[name] = value
    if "default_settlement_account_id" in changes:
        account_id = changes["default_settlement_account_id"] or None
        if account_id is not None:
            account = await accounts.get_account_row(
                actor, account_id, pointer="/default_settlement_account_id"
            )
            if account.status == "closed" or account.kind == "system" or account.currency != "IDR":
                errors.append(
                    FieldError("/default_settlement_account_id", N_("must be an open rupiah account"))
                )
        row["default_settlement_account_id"] = account_id
    if "deduction_grace_days" in changes:
        days = changes["deduction_grace_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            errors.append(
                FieldError(
                    "/deduction_grace_days",
                    N_("must be a whole number from 1 to %(max)s"),
                    params={"max": 365},
                )
            )
        else:
            row["deduction_grace_days"] = days
    if errors:
        raise ValidationFailed(
            N_("Some payment settings are not valid."), code="invalid_settings", errors=errors
        )
    async with transaction():
        await sql.execute(
            "INSERT INTO payment_settings (business_id, va_flat, qris_rate, card_rate, card_flat, "
            "ewallet_rate, default_settlement_account_id, deduction_grace_days, updated_at) VALUES ($1, $2, "
            "$3, $4, $5, $6, $7, $8, now()) "
            "ON CONFLICT (business_id) DO UPDATE SET va_flat = $2, qris_rate = $3, card_rate = $4, "
            "card_flat = $5, ewallet_rate = $6, default_settlement_account_id = $7, "
            "deduction_grace_days = $8, updated_at = now()",
            actor.business_id,
            row["va_flat"],
            row["qris_rate"],
            row["card_rate"],
            row["card_flat"],
            row["ewallet_rate"],
            row["default_settlement_account_id"],
            row["deduction_grace_days"],
        )
    return settings_out(await _row(actor.business_id))


SPLIT_SERVICE = "split_settlement"


async def _record_split_service(business_id: str, status: str) -> None:
    """Store the provider's state of the split service (it only moves forward: inactive → updating →
    active)."""
    async with transaction():
        await sql.execute(
            "INSERT INTO payment_settings (business_id, split_service, split_requested_at, "
            "split_verified_at) VALUES ($1, $2::text, $3::timestamptz, "
            "CASE WHEN $2 = 'active' THEN $3::timestamptz END) "
            "ON CONFLICT (business_id) DO UPDATE SET split_service = CASE WHEN "
            "payment_settings.split_service = 'active' THEN 'active' ELSE $2 END, "
            "split_requested_at = coalesce(payment_settings.split_requested_at, $3), "
            "split_verified_at = CASE WHEN $2 = 'active' THEN "
            "coalesce(payment_settings.split_verified_at, $3) ELSE payment_settings.split_verified_at END, "
            "updated_at = now()",
            business_id,
            status,
            clock.now(),
        )


async def _activate_split_service(business_id: str, actor: Actor, how: str) -> bool:
    """The provider verified split settlement: store `active` once (the row is locked by the update, so a
    callback and a status query at the same moment activate it once), audited. True when it changed."""
    async with transaction():
        changed = await sql.fetchval(
            "UPDATE payment_settings SET split_service = 'active', split_verified_at = "
            "coalesce(split_verified_at, $2), updated_at = now() WHERE business_id = $1 AND "
            "split_service = 'updating' RETURNING 1",
            business_id,
            clock.now(),
        )
        if changed:
            await audit(
                actor,
                "payment_settings.split_service_active",
                f"Split settlement verified by the provider ({how})",
                {"service": SPLIT_SERVICE},
            )
    return bool(changed)


async def request_split_service(actor: Actor) -> PaymentSettingsOut:
    """Settings → Services → Add service: the provider is asked to enable split settlement; it is UPDATING
    until the provider has verified it (in sandbox: the simulator's control surface), then ACTIVE."""
    _whole_business(actor)
    state = await gateway.provider().request_service(actor.business_id, SPLIT_SERVICE)
    await _record_split_service(actor.business_id, "updating")
    if state.status == "active":
        await _activate_split_service(actor.business_id, actor, "request")
    return settings_out(await _row(actor.business_id))


async def refresh_split_service(actor: Actor) -> PaymentSettingsOut:
    """Ask the provider again how its review of split settlement stands (a status query): ACTIVE once it
    verified it; still UPDATING otherwise. Split settlement must have been requested first."""
    _whole_business(actor)
    if (await _row(actor.business_id))["split_service"] == "inactive":
        raise Conflict(
            N_("Split settlement must be requested before the provider can verify it."),
            code="split_not_requested",
        )
    state = await gateway.provider().get_service(actor.business_id, SPLIT_SERVICE)
    if state.status == "active":
        await _activate_split_service(actor.business_id, actor, "status query")
    return settings_out(await _row(actor.business_id))


async def _split_service_requested(business_id: str) -> bool:
    return (await _row(business_id))["split_service"] != "inactive"


async def _split_service_event(business_id: str, event_type: str, data: dict[str, Any]) -> str:
    """The provider's `service.activated` callback (runs in the transaction recording it): ACTIVE, once."""
    if event_type != "service.activated" or data.get("status") != "active":
        return "noted"
    activated = await _activate_split_service(business_id, system_actor(business_id), "provider callback")
    return "activated" if activated else "already_active"


provider.on_service_event(
    SPLIT_SERVICE, provider.ServiceHandler(known=_split_service_requested, apply=_split_service_event)
)
