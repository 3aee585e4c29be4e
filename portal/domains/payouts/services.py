"""The payouts domain's rules: rails and business days (with each business's own terms), quotes, and the
book of beneficiaries verified by the provider's name inquiry.

The network's rails (`ref_payout_rails`) and the calendar's overrides are shared by every business; a
business edits only its own terms on a rail (fee and limits inside the network's bounds).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.payouts.router import DESTINATIONS, WALLETS, Calendar, NoRail, Rail, Window, route
from portal.domains.payouts.schemas import (
    BeneficiaryOut,
    BeneficiaryPage,
    PayoutSettingsOut,
    QuoteOut,
    RailList,
    RailOut,
    WindowOut,
)
from portal.domains.provider import gateway
from portal.domains.provider.gateway import NameInquiry
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import Amount, FieldError, Forbidden, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

DEFAULT_COOLDOWN_S = 3600
MAX_COOLDOWN_S = 7 * 24 * 3600
_DIGITS = re.compile(r"^[0-9]{6,20}$")
_MOBILE = re.compile(r"^08[1-9][0-9]{7,10}$")
# Honorifics and legal forms a bank's name inquiry may add or drop; they do not make another person.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ID = re.compile(r"^[a-z]{2,5}_[0-9A-Za-z]{1,40}$")
_NOISE = {"BPK", "BAPAK", "IBU", "SDR", "SDRI", "TN", "NY", "PT", "CV", "TBK", "UD"}


def is_id(value: Any, prefix: str | None = None) -> bool:
    """True for a well-formed object id (of `prefix` when given): anything else never reaches SQL."""
    return (
        isinstance(value, str)
        and bool(_ID.match(value))
        and (prefix is None or value.startswith(prefix + "_"))
    )


def positive_amount(value: Any, pointer: str = "/amount") -> int:
    """A whole number of rupiah above zero (a digit string is accepted), else 422 `invalid_amount`."""
    return _amount(value, pointer)


def valid_reference(value: Any, pointer: str = "/reference") -> str:
    """Your reference: 1 to 100 printable characters, unique per business (checked when claimed)."""
    text = str(value or "").strip() if isinstance(value, str | int) else ""
    if not text or len(text) > 100 or _CONTROL.search(text):
        raise ValidationFailed(
            N_("A reference is required: at most 100 printable characters."),
            code="invalid_reference",
            errors=[FieldError(pointer, N_("required, at most 100 characters"))],
        )
    return text


def optional_text(value: Any, pointer: str, max_len: int) -> str:
    """Free text on one line (spaces collapsed), at most `max_len` characters, no control characters."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    if len(text) > max_len or _CONTROL.search(text):
        raise ValidationFailed(
            N_("At most %(max)s printable characters."),
            params={"max": max_len},
            code="invalid_field",
            errors=[FieldError(pointer, N_("too long or not printable"))],
        )
    return text


def require_whole_business(actor: Actor) -> None:
    """Payout settings apply to the whole business: a scoped actor may not change them."""
    _require_whole_business(actor)


def _require_whole_business(actor: Actor) -> None:
    """Rail terms and the cool-down apply to the whole business: a scoped actor may not change them."""
    actor.require("payouts", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can change payout settings."))


# --- rails and the calendar ---------------------------------------------------------------------


def _window(data: dict[str, Any]) -> Window:
    settles = data.get("settles")
    return Window(
        time.fromisoformat(data["opens"]),
        time.fromisoformat(data["cutoff"]),
        time.fromisoformat(settles) if settles else None,
    )


async def load_rails(business_id: str) -> list[Rail]:
    """Every rail of the network with the business's own terms applied, in the operator's order."""
    rows = await sql.fetch(
        "SELECT r.*, t.min_amount AS t_min, t.max_amount AS t_max, t.fee AS t_fee, t.active AS t_active "
        "FROM ref_payout_rails r LEFT JOIN payout_rail_terms t ON t.code = r.code AND t.business_id = $1 "
        "ORDER BY r.sort_order, r.code",
        business_id,
    )
    rails = []
    for row in rows:
        windows = row["windows"]
        windows = json.loads(windows) if isinstance(windows, str) else windows
        rail = Rail(
            code=row["code"],
            name=row["name"],
            provider_rail=row["provider_rail"],
            destination=row["destination"],
            min_amount=row["min_amount"],
            max_amount=row["max_amount"],
            fee=row["fee"],
            always_open=row["always_open"],
            windows=tuple(_window(w) for w in windows),
            fee_cap=row["fee_cap"],
            sort_order=row["sort_order"],
            active=row["active"],
        )
        if row["t_fee"] is not None:
            rail = replace(
                rail,
                min_amount=max(rail.min_amount, row["t_min"]),
                max_amount=min(rail.max_amount, row["t_max"]),
                fee=row["t_fee"],
                active=rail.active and row["t_active"],
            )
        rails.append(rail)
    return rails


async def load_calendar() -> Calendar:
    """The business-day calendar with every operator override."""
    rows = await sql.fetch("SELECT day, is_business_day FROM payout_calendar_override")
    return Calendar({r["day"]: r["is_business_day"] for r in rows})


def rail_out(rail: Rail) -> RailOut:
    return RailOut(
        code=rail.code,
        name=rail.name,
        destination=rail.destination,
        min_amount=rail.min_amount,
        max_amount=rail.max_amount,
        fee=rail.charged_fee(),
        fee_cap=rail.fee_cap,
        always_open=rail.always_open,
        windows=[
            WindowOut(
                w.opens.strftime("%H:%M"),
                w.cutoff.strftime("%H:%M"),
                w.settles.strftime("%H:%M") if w.settles else None,
            )
            for w in rail.windows
        ],
        active=rail.active,
    )


async def list_rails(actor: Actor, *, today: date | None = None, days: int = 5) -> RailList:
    """The business's rails with their limits, fees and hours, and the next business days."""
    actor.require("payouts", "view")
    rails = await load_rails(actor.business_id)
    calendar = await load_calendar()
    start = today or datetime.now(UTC).astimezone(calendar_zone()).date()
    return RailList([rail_out(r) for r in rails], calendar.business_days(start, days))


def calendar_zone() -> Any:
    from portal.domains.payouts.router import WIB

    return WIB


def _amount(value: Any, pointer: str = "/amount") -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationFailed(
            N_("The amount must be a whole number of rupiah above zero."),
            code="invalid_amount",
            errors=[FieldError(pointer, N_("must be a positive whole number"))],
        )
    return value


def _destination(value: Any) -> str:
    text = str(value or "").strip()
    normal = text.upper() if text.lower() != "bank" else "bank"
    if normal not in DESTINATIONS:
        raise ValidationFailed(
            N_("Unknown payout destination %(destination)s: use bank or an e-wallet (%(wallets)s)."),
            params={"destination": text or "-", "wallets": ", ".join(WALLETS)},
            code="unknown_destination",
            errors=[FieldError("/destination", N_("unknown destination"))],
        )
    return normal


NO_RAIL = {
    "unknown_rail": ("/rail", N_("Unknown rail %(rail)s."), N_("unknown rail")),
    "inactive": ("/rail", N_("The rail %(rail)s is switched off."), N_("rail switched off")),
    "wrong_destination": (
        "/destination",
        N_("No rail pays out to this destination (%(destination)s)."),
        N_("no rail for this destination"),
    ),
    "below_minimum": (
        "/amount",
        N_("The amount is below the rail's minimum of %(limit)s."),
        N_("below the minimum"),
    ),
    "above_maximum": (
        "/amount",
        N_("The amount is above the rail's limit of %(limit)s."),
        N_("above the limit"),
    ),
}


async def quote(
    actor: Actor, amount: Any, destination: Any, *, rail: str | None = None, now: datetime | None = None
) -> QuoteOut:
    """The rail a payout of `amount` to `destination` would take (the cheapest eligible one, or `rail`
    when it is eligible), its fee, and when it would settle."""
    actor.require("payouts", "view")
    value = _amount(amount)
    where = _destination(destination)
    received = now or datetime.now(UTC)
    rails = await load_rails(actor.business_id)
    try:
        chosen = route(rails, value, where, received, await load_calendar(), rail_code=rail or None)
    except NoRail as refused:
        pointer, message, short = NO_RAIL[refused.reason]
        limit = 0
        if refused.rail is not None:
            limit = refused.rail.min_amount if refused.reason == "below_minimum" else refused.rail.max_amount
        raise ValidationFailed(
            message,
            params={"rail": rail or "", "destination": where, "limit": Amount(limit, "IDR")},
            code=f"rail_{refused.reason}",
            errors=[FieldError(pointer, short)],
        ) from None
    return QuoteOut(
        rail=chosen.rail.code,
        rail_name=chosen.rail.name,
        amount=value,
        fee=chosen.fee,
        currency="IDR",
        received_at=chosen.eta.received_at,
        eta=chosen.eta.settles_at,
        processing_day=chosen.eta.processing_day,
        scheduled=chosen.eta.scheduled,
    )


async def set_rail_terms(
    actor: Actor, code: str, *, fee: Any, min_amount: Any, max_amount: Any, active: bool
) -> Rail:
    """Set the business's own fee and limits on a rail, inside the network's bounds and fee cap."""
    _require_whole_business(actor)
    row = await sql.fetchrow("SELECT * FROM ref_payout_rails WHERE code = $1", code)
    if row is None:
        raise NotFound(
            N_("Unknown rail %(rail)s."),
            params={"rail": code},
            errors=[FieldError("/code", N_("unknown rail"))],
        )
    fee_value = _fee(fee)
    low = _amount(min_amount, "/min_amount")
    high = _amount(max_amount, "/max_amount")
    if fee_value is not None and row["fee_cap"] is not None and fee_value > row["fee_cap"]:
        raise ValidationFailed(
            N_("The fee on %(rail)s may not exceed %(cap)s."),
            params={"rail": row["name"], "cap": Amount(row["fee_cap"], "IDR")},
            code="rail_fee_above_cap",
            errors=[FieldError("/fee", N_("above the cap"))],
        )
    if low < row["min_amount"] or high > row["max_amount"] or low > high:
        raise ValidationFailed(
            N_(
                "Limits on %(rail)s must lie between %(low)s and %(high)s, the minimum not above the maximum."
            ),
            params={
                "rail": row["name"],
                "low": Amount(row["min_amount"], "IDR"),
                "high": Amount(row["max_amount"], "IDR"),
            },
            code="rail_limits_out_of_bounds",
            errors=[
                FieldError(
                    "/min_amount" if low < row["min_amount"] or low > high else "/max_amount",
                    N_("out of bounds"),
                )
            ],
        )
    assert fee_value is not None
    async with transaction():
        await sql.execute(
            "INSERT INTO payout_rail_terms (business_id, code, min_amount, max_amount, fee, active) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, code) DO UPDATE SET "
            "min_amount = $3, max_amount = $4, fee = $5, active = $6, updated_at = now()",
            actor.business_id,
            code,
            low,
            high,
            fee_value,
            bool(active),
        )
        await _audit(
            actor, "payout_rail.updated", f"Rail {code}: fee {fee_value}, limits {low}–{high}", {"rail": code}
        )
    rails = await load_rails(actor.business_id)
    return next(r for r in rails if r.code == code)


def _fee(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationFailed(
            N_("The fee must be a whole number of rupiah, zero or more."),
            code="invalid_fee",
            errors=[FieldError("/fee", N_("must be zero or a positive whole number"))],
        )
    return value


# --- settings -----------------------------------------------------------------------------------


async def cooldown_seconds(business_id: str) -> int:
    """How long a new beneficiary waits before its first payout (the business's setting)."""
    value = await sql.fetchval(
        "SELECT beneficiary_cooldown_s FROM payout_settings WHERE business_id = $1", business_id
    )
    return DEFAULT_COOLDOWN_S if value is None else int(value)


async def set_cooldown(actor: Actor, seconds: Any) -> int:
    """Change the business's beneficiary cool-down (0 to 7 days)."""
    return (await update_settings(actor, {"beneficiary_cooldown_s": seconds})).beneficiary_cooldown_s


SETTINGS_FIELDS = ("approval_threshold", "beneficiary_cooldown_s")
DEFAULT_APPROVAL_THRESHOLD = 10_000_000
# The largest network limit (RTGS): a higher threshold could never be reached, and it keeps within bigint.
MAX_APPROVAL_THRESHOLD = 1_000_000_000_000


def _settings(row: asyncpg.Record | None) -> PayoutSettingsOut:
    if row is None:
        return PayoutSettingsOut(
            approval_threshold=DEFAULT_APPROVAL_THRESHOLD, beneficiary_cooldown_s=DEFAULT_COOLDOWN_S
        )
    threshold = row["approval_threshold"]
    return PayoutSettingsOut(
        approval_threshold=None if threshold is None else int(threshold),
        beneficiary_cooldown_s=int(row["beneficiary_cooldown_s"]),
    )


async def get_settings(actor: Actor) -> PayoutSettingsOut:
    """The business's payout settings: the approval threshold and the beneficiary cool-down."""
    actor.require("payouts")
    return _settings(
        await sql.fetchrow(
            "SELECT approval_threshold, beneficiary_cooldown_s FROM payout_settings WHERE business_id = $1",
            actor.business_id,
        )
    )


def _whole_number(value: Any) -> Any:
    """A form's or a JSON body's whole number (a digit string counts); anything else is returned as is."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


async def update_settings(actor: Actor, changes: dict[str, Any]) -> PayoutSettingsOut:
    """Change the approval threshold (whole rupiah, 0 or more; null = only reviews and batches need
    approval) and the beneficiary cool-down (seconds, 0 to 7 days); each change is in the activity log
    with its old and new value. Bad values are refused together, each on its field, and nothing changes."""
    _require_whole_business(actor)
    errors: list[FieldError] = [
        FieldError(f"/{name}", N_("unknown setting")) for name in changes if name not in SETTINGS_FIELDS
    ]
    values: dict[str, int | None] = {}
    if "approval_threshold" in changes:
        threshold = changes["approval_threshold"]
        if threshold is None or (isinstance(threshold, str) and not threshold.strip()):
            values["approval_threshold"] = None
        else:
            threshold = _whole_number(threshold)
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, int)
                or not 0 <= threshold <= MAX_APPROVAL_THRESHOLD
            ):
                errors.append(
                    FieldError(
                        "/approval_threshold",
                        N_("must be a whole number of rupiah from 0 to %(max)s"),
                        params={"max": Amount(MAX_APPROVAL_THRESHOLD, "IDR")},
                    )
                )
            else:
                values["approval_threshold"] = threshold
    if "beneficiary_cooldown_s" in changes:
        seconds = _whole_number(changes["beneficiary_cooldown_s"])
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_COOLDOWN_S:
            errors.append(FieldError("/beneficiary_cooldown_s", N_("between 0 and 604800")))
        else:
            values["beneficiary_cooldown_s"] = seconds
    if errors:
        only = errors[0].pointer if len(errors) == 1 else ""
        if only == "/beneficiary_cooldown_s":
            message = N_("The cool-down must be between 0 and 7 days, in seconds.")
            code = "invalid_cooldown"
        elif only == "/approval_threshold":
            message = N_("The approval threshold must be a whole number of rupiah, zero or more.")
            code = "invalid_threshold"
        else:
            message, code = N_("Some payout settings are not valid."), "invalid_settings"
        raise ValidationFailed(message, code=code, errors=errors)
    async with transaction():
        # Lock the row (created on first use) so the old value in the activity log is the one replaced.
        await sql.execute(
            "INSERT INTO payout_settings (business_id) VALUES ($1) ON CONFLICT (business_id) DO NOTHING",
            actor.business_id,
        )
        old = _settings(
            await sql.fetchrow(
                "SELECT approval_threshold, beneficiary_cooldown_s FROM payout_settings "
                "WHERE business_id = $1 FOR UPDATE",
                actor.business_id,
            )
        )
        if "approval_threshold" in values:
            await sql.execute(
                "UPDATE payout_settings SET approval_threshold = $2, updated_at = now() "
                "WHERE business_id = $1",
                actor.business_id,
                values["approval_threshold"],
            )
            if values["approval_threshold"] != old.approval_threshold:
                await _audit(
                    actor,
                    "payout_settings.updated",
                    f"Payout approval threshold {_rupiah(old.approval_threshold)} → "
                    f"{_rupiah(values['approval_threshold'])}",
                    {},
                )
        if "beneficiary_cooldown_s" in values:
            await sql.execute(
                "UPDATE payout_settings SET beneficiary_cooldown_s = $2, updated_at = now() "
                "WHERE business_id = $1",
                actor.business_id,
                values["beneficiary_cooldown_s"],
            )
            if values["beneficiary_cooldown_s"] != old.beneficiary_cooldown_s:
                await _audit(
                    actor,
                    "payout_settings.updated",
                    f"Beneficiary cool-down {old.beneficiary_cooldown_s} s → "
                    f"{values['beneficiary_cooldown_s']} s",
                    {},
                )
    return await get_settings(actor)


def _rupiah(value: int | None) -> str:
    return "none" if value is None else f"Rp{value:,}".replace(",", ".")


# --- beneficiaries ------------------------------------------------------------------------------

BENEFICIARY_COLUMNS = (
    "b.id, b.business_id, b.account_id, b.kind, b.bank_code, b.wallet, b.account_number, b.typed_name, "
    "b.holder_name, b.name_matches, b.verified_at, b.usable_from, b.is_default, b.label, b.created_at"
)


def beneficiary_out(row: asyncpg.Record | dict[str, Any]) -> BeneficiaryOut:
    return BeneficiaryOut(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        bank_code=row["bank_code"],
        wallet=row["wallet"],
        account_number=row["account_number"],
        holder_name=row["holder_name"],
        typed_name=row["typed_name"],
        name_matches=row["name_matches"],
        verified_at=row["verified_at"],
        usable_from=row["usable_from"],
        is_default=row["is_default"],
        label=row["label"],
        created_at=row["created_at"],
    )


def normal_name(name: str) -> str:
    """A holder name reduced for comparison: no accents, punctuation, honorifics or legal forms."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    words = re.sub(r"[^A-Z0-9 ]", " ", text).split()
    return " ".join(w for w in words if w not in _NOISE)


def mobile_number(value: Any, pointer: str = "/phone") -> str:
    """An Indonesian mobile number as 08…, from 08…, 628… or +628… (spaces and dashes allowed)."""
    text = re.sub(r"[\s\-]", "", str(value or ""))
    if text.startswith("+62"):
        text = "0" + text[3:]
    elif text.startswith("62"):
        text = "0" + text[2:]
    if not _MOBILE.match(text):
        raise ValidationFailed(
            N_("%(phone)s is not an Indonesian mobile number (08… or +628…)."),
            params={"phone": str(value or "")[:32] or "-"},
            code="invalid_phone",
            errors=[FieldError(pointer, N_("not an Indonesian mobile number"))],
        )
    return text


def _required_text(value: Any, pointer: str, max_len: int) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > max_len or _CONTROL.search(text):
        raise ValidationFailed(
            N_("This field is required (at most %(max)s characters)."),
            params={"max": max_len},
            code="invalid_field",
            errors=[FieldError(pointer, N_("required"))],
        )
    return text


async def _owner_account(actor: Actor, account_id: str | None) -> str:
    if account_id:
        if not _ID.match(account_id):
            raise NotFound(
                N_("Account %(id)s was not found."),
                params={"id": account_id[:40]},
                errors=[FieldError("/account_id", N_("not found"))],
            )
        return (await accounts.get_account_row(actor, account_id)).id
    if actor.scope_account_id:
        return actor.scope_account_id
    return (await accounts.main_account(actor)).id


async def add_beneficiary(
    actor: Actor,
    *,
    kind: Any,
    holder_name: Any,
    account_id: str | None = None,
    bank_code: Any = None,
    account_number: Any = None,
    wallet: Any = None,
    phone: Any = None,
    label: Any = None,
    is_default: bool = False,
    confirm_holder_name: str | None = None,
) -> BeneficiaryOut:
    """Verify a bank account or e-wallet by the provider's name inquiry and add it to the book.

    A holder name that differs from the one typed is refused (`name_mismatch`, with the provider's
    name in the params) unless `confirm_holder_name` repeats the provider's name exactly."""
    actor.require("payouts", "manage")
    typed = _required_text(holder_name, "/holder_name", 100)
    owner = await _owner_account(actor, account_id)
    label_text = _CONTROL.sub("", " ".join(str(label or "").split()))[:60] or None
    if kind == "bank":
        code = str(bank_code or "").strip()
        known = re.fullmatch(r"[0-9]{3,8}", code) and await sql.fetchval(
            "SELECT 1 FROM ref_banks WHERE code = $1", code
        )
        if not known:
            raise ValidationFailed(
                N_("Unknown bank code %(code)s."),
                params={"code": _CONTROL.sub("", code)[:8] or "-"},
                code="unknown_bank",
                errors=[FieldError("/bank_code", N_("unknown bank code"))],
            )
        number = re.sub(r"[\s\-]", "", str(account_number or ""))
        if not _DIGITS.match(number):
            raise ValidationFailed(
                N_("A bank account number has 6 to 20 digits."),
                code="invalid_account_number",
                errors=[FieldError("/account_number", N_("6 to 20 digits"))],
            )
        inquiry = NameInquiry(kind="bank", bank_code=code, account_number=number)
        wallet_code = None
    elif kind == "ewallet":
        wallet_code = str(wallet or "").strip().upper()
        if wallet_code not in WALLETS:
            raise ValidationFailed(
                N_("Unknown e-wallet %(wallet)s: use one of %(wallets)s."),
                params={"wallet": wallet_code or "-", "wallets": ", ".join(WALLETS)},
                code="unknown_wallet",
                errors=[FieldError("/wallet", N_("unknown e-wallet"))],
            )
        number = mobile_number(phone)
        inquiry = NameInquiry(kind="ewallet", wallet=wallet_code, phone=number)
        code = None
    else:
        raise ValidationFailed(
            N_("A beneficiary is a bank account or an e-wallet."),
            code="invalid_kind",
            errors=[FieldError("/kind", N_("bank or ewallet"))],
        )
    pointer = "/account_number" if kind == "bank" else "/phone"
    await _refuse_duplicate(owner, kind, code or wallet_code or "", number, pointer)
    # The provider call happens outside any transaction: no lock is held across the network.
    answer = await gateway.provider().name_inquiry(actor.business_id, inquiry)
    if answer.status == "not_found":
        raise ValidationFailed(
            N_("The bank or e-wallet does not know this account."),
            code="beneficiary_not_found",
            errors=[FieldError(pointer, N_("account not found"))],
        )
    if answer.status == "closed" or not answer.holder_name:
        raise ValidationFailed(
            N_("This account is closed at the bank or e-wallet."),
            code="beneficiary_closed",
            errors=[FieldError(pointer, N_("account closed"))],
        )
    holder = answer.holder_name.strip()[:100]
    matches = normal_name(holder) == normal_name(typed)
    if not matches and (confirm_holder_name or "").strip() != holder:
        raise ValidationFailed(
            N_("The account is held by %(holder)s, not %(typed)s. Confirm the holder's name to add it."),
            params={"holder": holder, "typed": typed},
            code="name_mismatch",
            errors=[FieldError("/holder_name", N_("differs from the holder's name"), code="name_mismatch")],
            extra={"holder_name": holder},
        )
    cooldown = await cooldown_seconds(actor.business_id)
    now = datetime.now(UTC)
    beneficiary_id = new_id("ben")
    async with transaction():
        has_default = await sql.fetchval(
            "SELECT 1 FROM beneficiary WHERE account_id = $1 AND is_default FOR UPDATE", owner
        )
        make_default = bool(is_default) or not has_default
        if make_default and has_default:
            await sql.execute(
                "UPDATE beneficiary SET is_default = false WHERE account_id = $1 AND is_default", owner
            )
        try:
            row = await sql.fetchrow(
                "INSERT INTO beneficiary (id, business_id, account_id, kind, bank_code, wallet, "
                "account_number, typed_name, holder_name, name_matches, verified_at, usable_from, "
                "is_default, label, created_by) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                f"RETURNING {BENEFICIARY_COLUMNS.replace('b.', '')}",
                beneficiary_id,
                actor.business_id,
                owner,
                kind,
                code,
                wallet_code,
                number,
                typed,
                holder,
                matches,
                now,
                now + timedelta(seconds=cooldown),
                make_default,
                label_text,
                actor.user_id or actor.api_key_id,
            )
        except asyncpg.UniqueViolationError:
            raise _duplicate(pointer) from None
        assert row is not None
        summary = f"Beneficiary {holder} ({code or wallet_code} {mask(number)}) added"
        if not matches:
            summary += f"; typed name {typed} confirmed as {holder}"
        await _audit(
            actor, "beneficiary.created", summary, {"beneficiary_id": beneficiary_id, "account_id": owner}
        )
    return beneficiary_out(row)


def mask(number: str) -> str:
    """An account number or phone with all but its last four digits hidden."""
    return "•" * max(len(number) - 4, 0) + number[-4:]


def _duplicate(pointer: str) -> ValidationFailed:
    return ValidationFailed(
        N_("This account is already in the book."),
        code="beneficiary_exists",
        errors=[FieldError(pointer, N_("already added"))],
    )


async def _refuse_duplicate(owner: str, kind: str, key: str, number: str, pointer: str) -> None:
    exists = await sql.fetchval(
        "SELECT 1 FROM beneficiary WHERE account_id = $1 AND kind = $2 AND coalesce(bank_code, wallet) = $3 "
        "AND account_number = $4 AND status = 'active'",
        owner,
        kind,
        key,
        number,
    )
    if exists:
        raise _duplicate(pointer)


def _scope(actor: Actor, args: list[Any]) -> str:
    args.append(actor.business_id)
    clause = f"b.business_id = ${len(args)} AND b.status = 'active'"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        clause += f" AND a.path LIKE ${len(args)}"
    return clause


def _not_found(beneficiary_id: str) -> NotFound:
    return NotFound(
        N_("Beneficiary %(id)s was not found."),
        params={"id": beneficiary_id},
        errors=[FieldError("/beneficiary_id", N_("not found"))],
    )


async def _row(actor: Actor, beneficiary_id: str, *, lock: bool = False) -> asyncpg.Record:
    if not _ID.match(beneficiary_id) or not beneficiary_id.startswith("ben_"):
        raise _not_found(beneficiary_id[:40])
    args: list[Any] = [beneficiary_id]
    where = _scope(actor, args)
    row = await sql.fetchrow(
        f"SELECT {BENEFICIARY_COLUMNS} FROM beneficiary b JOIN account a ON a.id = b.account_id "
        f"WHERE b.id = $1 AND {where}" + (" FOR UPDATE OF b" if lock else ""),
        *args,
    )
    if row is None:
        raise _not_found(beneficiary_id)
    return row


async def find_beneficiary(actor: Actor, beneficiary_id: str) -> None:
    """NotFound unless the actor may see the beneficiary."""
    await _row(actor, beneficiary_id)


async def get_beneficiary(actor: Actor, beneficiary_id: str) -> BeneficiaryOut:
    """One beneficiary of the actor's business and scope."""
    actor.require("payouts", "view")
    return beneficiary_out(await _row(actor, beneficiary_id))


async def list_beneficiaries(
    actor: Actor, *, account_id: str | None = None, limit: int | None = None, after: str | None = None
) -> BeneficiaryPage:
    """Active beneficiaries in scope, oldest first, cursor-paginated by id."""
    actor.require("payouts", "view")
    size = 50 if limit is None else limit
    if not isinstance(size, int) or not 1 <= size <= 200:
        raise ValidationFailed(
            N_("limit must be between 1 and 200."),
            code="invalid_limit",
            errors=[FieldError("/limit", N_("1 to 200"))],
        )
    for name, value in (("account_id", account_id), ("after", after)):
        if value and not _ID.match(value):
            raise ValidationFailed(
                N_("%(name)s is not an id."),
                params={"name": name},
                code="invalid_id",
                errors=[FieldError(f"/{name}", N_("not an id"))],
            )
    args: list[Any] = []
    where = _scope(actor, args)
    if account_id:
        args.append(account_id)
        where += f" AND b.account_id = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND b.id > ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {BENEFICIARY_COLUMNS} FROM beneficiary b JOIN account a ON a.id = b.account_id "
        f"WHERE {where} ORDER BY b.id LIMIT ${len(args)}",
        *args,
    )
    data = [beneficiary_out(r) for r in rows[:size]]
    more = len(rows) > size
    return BeneficiaryPage(data, more, data[-1].id if more and data else None)


async def set_default(actor: Actor, beneficiary_id: str) -> BeneficiaryOut:
    """Make this beneficiary its account's default destination ("pilih rekening bank")."""
    actor.require("payouts", "manage")
    async with transaction():
        row = await _row(actor, beneficiary_id, lock=True)
        await sql.execute(
            "UPDATE beneficiary SET is_default = false WHERE account_id = $1 AND is_default AND id <> $2",
            row["account_id"],
            beneficiary_id,
        )
        updated = await sql.fetchrow(
            f"UPDATE beneficiary b SET is_default = true WHERE id = $1 RETURNING {BENEFICIARY_COLUMNS}",
            beneficiary_id,
        )
        await _audit(
            actor,
            "beneficiary.default_set",
            f"Beneficiary {row['holder_name']} ({mask(row['account_number'])}) is the default",
            {"beneficiary_id": beneficiary_id, "account_id": row["account_id"]},
        )
    assert updated is not None
    return beneficiary_out(updated)


async def delete_beneficiary(actor: Actor, beneficiary_id: str) -> None:
    """Remove a beneficiary from the book (kept, marked deleted, for the payouts that used it)."""
    actor.require("payouts", "manage")
    async with transaction():
        row = await _row(actor, beneficiary_id, lock=True)
        await sql.execute(
            "UPDATE beneficiary SET status = 'deleted', is_default = false, deleted_at = now() WHERE id = $1",
            beneficiary_id,
        )
        await _audit(
            actor,
            "beneficiary.deleted",
            f"Beneficiary {row['holder_name']} ({mask(row['account_number'])}) deleted",
            {"beneficiary_id": beneficiary_id, "account_id": row["account_id"]},
        )


async def _audit(actor: Actor, action: str, summary: str, refs: dict[str, str]) -> None:
    from portal.domains.audit.services import record

    await record(actor, action, summary, refs=refs, business_id=actor.business_id)


async def usable_beneficiary(
    actor: Actor, beneficiary_id: str, *, now: datetime | None = None
) -> BeneficiaryOut:
    """A beneficiary a payout may go to now: in scope, and past its cool-down (`beneficiary_cooling_down`)."""
    beneficiary = beneficiary_out(await _row(actor, beneficiary_id))
    if (now or datetime.now(UTC)) < beneficiary.usable_from:
        raise ValidationFailed(
            N_("This beneficiary was added recently; payouts to it are possible from %(from)s."),
            params={"from": beneficiary.usable_from.isoformat(timespec="minutes")},
            code="beneficiary_cooling_down",
            errors=[FieldError("/beneficiary_id", N_("in cool-down"))],
        )
    return beneficiary


# --- the calendar's overrides (the platform operator's, from the CLI) ---------------------------


async def set_calendar_override(day: date, is_business_day: bool, note: str = "") -> None:
    """Declare `day` a business day or not, whatever the holiday library says (a decree, a BI closure)."""
    clean = _CONTROL.sub("", " ".join(note.split()))[:200]
    await sql.execute(
        "INSERT INTO payout_calendar_override (day, is_business_day, note) VALUES ($1, $2, $3) "
        "ON CONFLICT (day) DO UPDATE SET is_business_day = $2, note = $3, updated_at = now()",
        day,
        is_business_day,
        clean,
    )


async def clear_calendar_override(day: date) -> bool:
    """Forget the override of `day`; True when there was one."""
    return await sql.execute("DELETE FROM payout_calendar_override WHERE day = $1", day) == "DELETE 1"


async def calendar_overrides(year: int | None = None) -> list[tuple[date, bool, str]]:
    """(day, is_business_day, note) of every override, of one year when given, by day."""
    rows = await sql.fetch(
        "SELECT day, is_business_day, note FROM payout_calendar_override "
        "WHERE $1::int IS NULL OR extract(year FROM day) = $1 ORDER BY day",
        year,
    )
    return [(r["day"], r["is_business_day"], r["note"]) for r in rows]
