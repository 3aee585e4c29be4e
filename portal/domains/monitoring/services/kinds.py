"""The rule kinds: their parameters (with bounds) and how a kind decides from what the database counted.

The same decision serves three callers: the inline screen (before money moves), the event consumer (after
it moved) and the 30-day test of a draft rule. The database side is one SQL expression per kind
(`measure_sql`), evaluated for every rule of a business in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_

WIB = ZoneInfo("Asia/Jakarta")
SEVERITIES = ("low", "medium", "high")
ACTIONS = ("alert", "review", "block")
# Sign-in credentials changing: the activity log's actions that count as a "login change".
CREDENTIAL_ACTIONS = (
    "user.password_changed",
    "user.password_reset",
    "user.authenticator_reset",
    "user.email_changed",
    "user.recovery_codes_regenerated",
    "api_key.created",
)
# The same list as the partial index `monitoring_activity_credentials` (its predicate must match).
CREDENTIALS_SQL = ", ".join(f"'{a}'" for a in CREDENTIAL_ACTIONS)
FAILED_CHARGE_EVENT = "billing.charge.failed"


@dataclass(frozen=True)
class Param:
    name: str
    type: Literal["amount", "int", "choice"]
    label: str
    minimum: int = 0
    maximum: int = 10**15
    choices: tuple[str, ...] = ()


PER = Param("per", "choice", N_("Counted per"), choices=("account", "beneficiary"))
WINDOW = Param("window_hours", "int", N_("Window (hours)"), 1, 720)
MIN_AMOUNT = Param("min_amount", "amount", N_("From amount"), 0)

KINDS: dict[str, tuple[Param, ...]] = {
    "large_amount": (Param("amount", "amount", N_("Amount at or above"), 1),),
    "velocity_count": (
        PER,
        WINDOW,
        Param("max_count", "int", N_("Most operations in the window"), 1, 100000),
    ),
    "velocity_sum": (PER, WINDOW, Param("max_sum", "amount", N_("Most money in the window"), 1)),
    "new_beneficiary": (MIN_AMOUNT,),
    "night": (
        Param("start_hour", "int", N_("Night starts (hour, WIB)"), 0, 23),
        Param("end_hour", "int", N_("Night ends (hour, WIB)"), 0, 23),
        MIN_AMOUNT,
    ),
    "structuring": (
        Param("limit", "amount", N_("Limit"), 1),
        Param("margin_pct", "int", N_("Just below the limit by at most (percent)"), 1, 50),
        Param("min_count", "int", N_("Operations in the window"), 2, 1000),
        WINDOW,
    ),
    "dormant": (Param("days", "int", N_("Quiet for (days)"), 1, 3650), MIN_AMOUNT),
    "recent_change": (Param("minutes", "int", N_("Within (minutes) of the change"), 1, 10080), MIN_AMOUNT),
    "failed_charges": (Param("max_failures", "int", N_("Failed charges"), 1, 1000), WINDOW),
}
# Kinds decided from events only (nothing to screen before money moves).
EVENT_ONLY = frozenset({"failed_charges"})


def valid_params(kind: str, raw: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of a rule of `kind`, checked against their bounds (422 on the field otherwise);
    `base` supplies the current values of parameters left out."""
    if not isinstance(raw, dict):
        raise ValidationFailed(
            N_("The parameters must be an object."),
            code="invalid_params",
            errors=[FieldError("/params", N_("must be an object"))],
        )
    spec = {p.name: p for p in KINDS[kind]}
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        raise ValidationFailed(
            N_("Unknown parameter %(name)s for this rule."),
            params={"name": unknown[0]},
            code="unknown_param",
            errors=[FieldError(f"/params/{unknown[0]}", N_("unknown parameter"))],
        )
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, param in spec.items():
        value = raw.get(name, (base or {}).get(name))
        pointer = f"/params/{name}"
        if value is None or value == "":
            errors.append(FieldError(pointer, N_("required")))
            continue
        if param.type == "choice":
            if value not in param.choices:
                errors.append(FieldError(pointer, N_("not one of the choices")))
            else:
                out[name] = value
            continue
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(FieldError(pointer, N_("must be a whole number")))
        elif value < param.minimum:
            errors.append(
                FieldError(pointer, N_("must be at least %(minimum)s"), params={"minimum": param.minimum})
            )
        elif value > param.maximum:
            errors.append(
                FieldError(pointer, N_("must be at most %(maximum)s"), params={"maximum": param.maximum})
            )
        else:
            out[name] = value
    if not errors and kind == "night" and out["start_hour"] == out["end_hour"]:
        errors.append(FieldError("/params/end_hour", N_("must differ from the start")))
    if errors:
        raise ValidationFailed(
            N_("Some parameters of the rule are not valid."), code="invalid_params", errors=errors
        )
    return out


def at_night(at: datetime, start_hour: int, end_hour: int) -> bool:
    hour = at.astimezone(WIB).hour
    if start_hour > end_hour:
        return hour >= start_hour or hour < end_hour
    return start_hour <= hour < end_hour


def fires(
    kind: str,
    params: dict[str, Any],
    *,
    amount: int,
    at: datetime,
    n: int | None,
    t: datetime | None,
    beneficiary_id: str | None = None,
) -> bool:
    """Whether a rule matches an operation of `amount` at `at`, given what the database counted: `n`
    (operations or money before this one, per the kind) and `t` (a moment: last activity, last change)."""
    p = params
    if kind == "large_amount":
        return amount >= p["amount"]
    if kind == "velocity_count":
        return (p["per"] == "account" or beneficiary_id is not None) and (n or 0) + 1 > p["max_count"]
    if kind == "velocity_sum":
        return (p["per"] == "account" or beneficiary_id is not None) and (n or 0) + amount > p["max_sum"]
    if kind == "new_beneficiary":
        return beneficiary_id is not None and n == 0 and amount >= p["min_amount"]
    if kind == "night":
        return amount >= p["min_amount"] and at_night(at, p["start_hour"], p["end_hour"])
    if kind == "structuring":
        low = p["limit"] * (100 - p["margin_pct"]) // 100
        return low <= amount < p["limit"] and (n or 0) + 1 >= p["min_count"]
    if kind == "dormant":
        return amount >= p["min_amount"] and t is not None and at - t >= timedelta(days=p["days"])
    if kind == "recent_change":
        return amount >= p["min_amount"] and t is not None and at - t <= timedelta(minutes=p["minutes"])
    if kind == "failed_charges":
        return (n or 0) >= p["max_failures"]
    return False


def _window(p: str, at: str, column: str) -> str:
    return f"o.{column} > {at} - make_interval(hours => ({p}->>'window_hours')::int) AND o.{column} <= {at}"


def measure_sql(*, k: str, p: str, b: str, a: str, ben: str, at: str, ex: str) -> str:
    """`n` and `t` of one rule as two SQL columns (`… AS n, … AS t`): `k` the kind, `p` its params (jsonb),
    `b` business, `a` account, `ben` beneficiary, `at` the operation's time and `ex` the operation's own
    id (left out of the counts), each a SQL expression. Only the matching kind's subquery runs."""
    outgoing = f"FROM monitoring_outgoing o WHERE o.business_id = {b} AND o.object_id IS DISTINCT FROM {ex}"
    per_account = f"{outgoing} AND o.account_id = {a} AND {_window(p, at, 'created_at')}"
    per_beneficiary = f"{outgoing} AND o.beneficiary_id = {ben} AND {_window(p, at, 'created_at')}"
    limit = f"({p}->>'limit')::bigint"
    # Counts stop where the decision is made (a rule only asks "more than N?", "any before?"), so the cost
    # of a check does not grow with the history of a busy account or beneficiary.
    count_cap = f"({p}->>'max_count')::bigint + 1"
    credentials = CREDENTIALS_SQL
    return f"""
    CASE {k}
      WHEN 'velocity_count' THEN CASE WHEN {p}->>'per' = 'beneficiary'
          THEN (SELECT count(*) FROM (SELECT 1 {per_beneficiary} LIMIT {count_cap}) c)
          ELSE (SELECT count(*) FROM (SELECT 1 {per_account} LIMIT {count_cap}) c) END
      WHEN 'velocity_sum' THEN CASE WHEN {p}->>'per' = 'beneficiary'
          THEN (SELECT coalesce(sum(o.amount), 0) {per_beneficiary})
          ELSE (SELECT coalesce(sum(o.amount), 0) {per_account}) END
      WHEN 'structuring' THEN (SELECT count(*) FROM (SELECT 1 {per_account}
          AND o.amount >= {limit} * (100 - ({p}->>'margin_pct')::int) / 100 AND o.amount < {limit}
          LIMIT ({p}->>'min_count')::bigint) c)
      WHEN 'new_beneficiary' THEN CASE WHEN {ben} IS NULL THEN NULL
          ELSE (SELECT count(*) FROM (SELECT 1 {outgoing} AND o.beneficiary_id = {ben}
                AND o.created_at <= {at} LIMIT 1) c) END
    END::bigint AS n,
    CASE {k}
      WHEN 'dormant' THEN coalesce(
          (SELECT o.created_at {outgoing} AND o.account_id = {a} AND o.created_at <= {at}
           ORDER BY o.created_at DESC LIMIT 1),
          (SELECT ac.created_at FROM account ac WHERE ac.business_id = {b} AND ac.id = {a}))
      WHEN 'recent_change' THEN greatest(
          (SELECT max(bn.created_at) FROM beneficiary bn WHERE bn.business_id = {b} AND bn.account_id = {a}
           AND bn.created_at <= {at}
           AND bn.created_at > {at} - make_interval(mins => ({p}->>'minutes')::int)),
          (SELECT max(ac.occurred_at) FROM activity ac WHERE ac.business_id = {b}
           AND ac.action IN ({credentials}) AND ac.occurred_at <= {at}
           AND ac.occurred_at > {at} - make_interval(mins => ({p}->>'minutes')::int)))
    END AS t"""
