"""Evaluation of the rules: inline for outgoing money (the screen registered in portal.lib.screening) and
for an operation already booked (the event consumer). One SQL statement per operation counts what every
rule needs (`kinds.measure_sql` per rule, in a lateral join), so the inline cost does not grow with one
round trip per rule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domains.monitoring.services import kinds
from portal.lib import clock, screening, sql
from portal.lib.actor import Actor
from portal.lib.i18n import N_
from portal.lib.screening import Outgoing, Verdict

BLOCKED_CODE = "monitoring_blocked"
# Inline, only rules that can stop or divert the operation are evaluated; rules that only alert are
# evaluated from the operation's event, with the booked operation linked as evidence.
INLINE_ACTIONS = ("block", "review")

_MEASURE = kinds.measure_sql(
    k="r.kind", p="r.params", b="$1", a="$2", ben="$3", at="$4::timestamptz", ex="$5"
)
_INLINE_SQL = f"""
SELECT r.id, r.kind, r.name, r.params, r.severity, r.action, m.n, m.t,
       (SELECT ac.path FROM account ac
        WHERE ac.id = $2 AND ac.business_id = $1 AND ac.kind <> 'system') AS path,
       ($7::text IS NOT NULL AND EXISTS (SELECT 1 FROM ledger_reference lr
                                         WHERE lr.business_id = $1 AND lr.reference = $7)) AS replay
FROM monitoring_rule r, LATERAL (SELECT {_MEASURE}) m
WHERE r.business_id = $1 AND r.enabled AND r.action = ANY($6::text[]) AND NOT r.kind = ANY($8::text[])
ORDER BY r.id
"""


@dataclass(frozen=True)
class Match:
    """A rule that matched an operation."""

    rule_id: str
    kind: str
    name: str
    severity: str
    action: str
    params: dict[str, Any]


def _params(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _matches(rows: list[Any], amount: int, at: datetime, beneficiary_id: str | None) -> list[Match]:
    out = []
    for row in rows:
        params = _params(row["params"])
        if kinds.fires(
            row["kind"], params, amount=amount, at=at, n=row["n"], t=row["t"], beneficiary_id=beneficiary_id
        ):
            out.append(Match(row["id"], row["kind"], row["name"], row["severity"], row["action"], params))
    return out


async def matching_rules(
    business_id: str,
    *,
    account_id: str,
    amount: int,
    at: datetime,
    beneficiary_id: str | None = None,
    exclude_object_id: str | None = None,
    actions: tuple[str, ...] = kinds.ACTIONS,
) -> list[Match]:
    """Every enabled rule (with one of `actions`) an operation matches, counted as of `at` without the
    operation itself."""
    rows = await sql.fetch(
        _INLINE_SQL,
        business_id,
        account_id,
        beneficiary_id,
        at,
        exclude_object_id,
        list(actions),
        None,
        sorted(kinds.EVENT_ONLY),
    )
    return _matches(rows, amount, at, beneficiary_id)


async def evaluate_outgoing(actor: Actor, outgoing: Outgoing) -> Verdict:
    """The verdict on money about to leave an account: the strongest action of the block/review rules it
    matches (a block also raises an alert at once, since nothing will be booked to raise one later).
    An account outside the business or the actor's scope, or a repeat of a booked reference, is allowed
    here: the ledger refuses or replays it as it always does."""
    at = clock.now()
    rows = await sql.fetch(
        _INLINE_SQL,
        outgoing.business_id,
        outgoing.account_id,
        outgoing.beneficiary_id,
        at,
        None,
        list(INLINE_ACTIONS),
        outgoing.reference,
        sorted(kinds.EVENT_ONLY),
    )
    if not rows or rows[0]["replay"] or rows[0]["path"] is None:
        return screening.ALLOW
    if actor.scope_account_id and f"/{actor.scope_account_id}/" not in rows[0]["path"]:
        return screening.ALLOW
    found = _matches(rows, outgoing.amount, at, outgoing.beneficiary_id)
    if not found:
        return screening.ALLOW
    strongest = max(found, key=lambda m: screening.STRENGTH[m.action])
    rule_ids = tuple(m.rule_id for m in found if m.action == strongest.action)
    if strongest.action == "block":
        from portal.domains.monitoring.services import alerts

        await alerts.raise_blocked(outgoing, [m for m in found if m.action == "block"], at)
        return Verdict(
            "block",
            BLOCKED_CODE,
            rule_ids,
            N_("Refused by the monitoring rule “%(rule)s”."),
            {"rule": strongest.name},
        )
    return Verdict(
        "review",
        "monitoring_review",
        rule_ids,
        N_("Held for review by the monitoring rule “%(rule)s”."),
        {"rule": strongest.name},
    )


screening.register(evaluate_outgoing)
