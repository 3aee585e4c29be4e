"""Evaluation of the rules: inline for outgoing money (the screen registered in portal.lib.screening) and
for an operation already booked (the event consumer). One SQL statement per operation counts what every
rule needs, so the inline cost does not grow with one round trip per rule: inline, each window is read
once and shared by the rules; for booked operations, `kinds.measure_sql` per rule in a lateral join."""

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

# The inline statement reads each window once: the account's money out over the longest window of its
# counting rules and the beneficiary's likewise (index range scans on business + key + time, kept as
# CTEs); every counting rule then counts its own window from those rows, and the dormant rule takes the
# account's last operation from them. A scan per rule (about 30 scans of the view's tables per call)
# made a plan that guessed wrong, on tables without statistics yet, cost that much more each time.
# The parameters enter only through `x` (materialized; the scans read them as InitPlans), so the plan
# does not depend on their values and PostgreSQL keeps one generic plan per connection instead of
# planning the statement on every call. The decisions are `kinds.fires`, as for the event consumer.
_WINDOW_KINDS = "('velocity_count', 'velocity_sum', 'structuring')"
_INLINE_SQL = f"""
WITH x AS MATERIALIZED (
    SELECT $1::text AS b, $2::text AS a, $3::text AS ben, $4::timestamptz AS at, $5::text AS ex,
           (SELECT ac.path FROM account ac
            WHERE ac.id = $2 AND ac.business_id = $1 AND ac.kind <> 'system') AS path,
           ($7::text IS NOT NULL AND EXISTS (SELECT 1 FROM ledger_reference lr
                                             WHERE lr.business_id = $1 AND lr.reference = $7)) AS replay),
r AS MATERIALIZED (
    SELECT r.id, r.kind, r.name, r.params, r.severity, r.action,
           coalesce(r.params->>'per', 'account') AS per, (r.params->>'window_hours')::int AS hours,
           (r.params->>'limit')::bigint AS lim,
           (r.params->>'limit')::bigint * (100 - (r.params->>'margin_pct')::int) / 100 AS low
    FROM x JOIN monitoring_rule r ON r.business_id = x.b
    WHERE r.enabled AND r.action = ANY($6::text[]) AND NOT r.kind = ANY($8::text[])),
-- The longest window of the account's and of the beneficiary's counting rules, in hours.
longest AS MATERIALIZED (
    SELECT max(hours) FILTER (WHERE per = 'account') AS account,
           max(hours) FILTER (WHERE per = 'beneficiary') AS beneficiary
    FROM r WHERE kind IN {_WINDOW_KINDS}),
by_account AS MATERIALIZED (
    SELECT o.amount, o.created_at FROM monitoring_outgoing o
    WHERE o.business_id = (SELECT b FROM x) AND o.account_id = (SELECT a FROM x)
      AND o.created_at <= (SELECT at FROM x)
      AND o.created_at > (SELECT at FROM x) - make_interval(hours => (SELECT account FROM longest))
      AND o.object_id IS DISTINCT FROM (SELECT ex FROM x)),
by_beneficiary AS MATERIALIZED (
    SELECT o.amount, o.created_at FROM monitoring_outgoing o
    WHERE o.business_id = (SELECT b FROM x) AND o.beneficiary_id = (SELECT ben FROM x)
      AND o.created_at <= (SELECT at FROM x)
      AND o.created_at > (SELECT at FROM x) - make_interval(hours => (SELECT beneficiary FROM longest))
      AND o.object_id IS DISTINCT FROM (SELECT ex FROM x))
SELECT r.id, r.kind, r.name, r.params, r.severity, r.action, m.n, m.t, x.path, x.replay
FROM x CROSS JOIN r
CROSS JOIN LATERAL (SELECT
    CASE WHEN r.kind IN {_WINDOW_KINDS} THEN (
        SELECT CASE r.kind
                 WHEN 'velocity_count' THEN count(*)
                 WHEN 'velocity_sum' THEN coalesce(sum(w.amount), 0)
                 ELSE count(*) FILTER (WHERE w.amount >= r.low AND w.amount < r.lim) END
        FROM (SELECT * FROM by_account WHERE r.per = 'account'
              UNION ALL SELECT * FROM by_beneficiary WHERE r.per = 'beneficiary') w
        WHERE w.created_at > x.at - make_interval(hours => r.hours))
    WHEN r.kind = 'new_beneficiary' AND x.ben IS NOT NULL THEN (
        SELECT count(*) FROM (SELECT 1 FROM monitoring_outgoing o
            WHERE o.business_id = x.b AND o.beneficiary_id = x.ben AND o.created_at <= x.at
              AND o.object_id IS DISTINCT FROM x.ex LIMIT 1) c)
    END::bigint AS n,
    CASE r.kind
      WHEN 'dormant' THEN coalesce(
          (SELECT max(w.created_at) FROM by_account w),
          (SELECT o.created_at FROM monitoring_outgoing o
           WHERE o.business_id = x.b AND o.account_id = x.a AND o.created_at <= x.at
             AND o.object_id IS DISTINCT FROM x.ex
           ORDER BY o.created_at DESC LIMIT 1),
          (SELECT ac.created_at FROM account ac WHERE ac.business_id = x.b AND ac.id = x.a))
      WHEN 'recent_change' THEN greatest(
          (SELECT max(bn.created_at) FROM beneficiary bn WHERE bn.business_id = x.b AND bn.account_id = x.a
           AND bn.created_at <= x.at
           AND bn.created_at > x.at - make_interval(mins => (r.params->>'minutes')::int)),
          (SELECT max(ac.occurred_at) FROM activity ac WHERE ac.business_id = x.b
           AND ac.action IN ({kinds.CREDENTIALS_SQL}) AND ac.occurred_at <= x.at
           AND ac.occurred_at > x.at - make_interval(mins => (r.params->>'minutes')::int)))
    END AS t) m
ORDER BY r.id
"""


# The same counts for many booked operations at once (the event consumer's batch): one statement, one
# round trip for the batch instead of one per event.
_MANY_MEASURE = kinds.measure_sql(
    k="r.kind", p="r.params", b="y.b", a="x.a", ben="x.ben", at="x.at", ex="x.ex"
)
_MANY_SQL = f"""
SELECT x.i, r.id, r.kind, r.name, r.params, r.severity, r.action, m.n, m.t
FROM (SELECT $1::text AS b OFFSET 0) y
CROSS JOIN unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[])
     WITH ORDINALITY AS x(a, ben, at, ex, i)
JOIN monitoring_rule r ON r.business_id = y.b
CROSS JOIN LATERAL (SELECT {_MANY_MEASURE}) m
WHERE r.enabled AND r.action = ANY($6::text[]) AND NOT r.kind = ANY($7::text[])
ORDER BY x.i, r.id
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


@dataclass(frozen=True)
class Booked:
    """An operation already booked, as the event consumer screens it."""

    account_id: str
    amount: int
    at: datetime
    beneficiary_id: str | None
    object_id: str | None


async def matching_rules_many(
    business_id: str, ops: list[Booked], actions: tuple[str, ...] = kinds.ACTIONS
) -> list[list[Match]]:
    """`matching_rules` for many booked operations of one business in one statement: for each operation
    (in order), the enabled rules it matches, counted as of its time without the operation itself."""
    if not ops:
        return []
    rows = await sql.fetch(
        _MANY_SQL,
        business_id,
        [op.account_id for op in ops],
        [op.beneficiary_id for op in ops],
        [op.at for op in ops],
        [op.object_id for op in ops],
        list(actions),
        sorted(kinds.EVENT_ONLY),
    )
    by_op: list[list[Any]] = [[] for _ in ops]
    for row in rows:
        by_op[int(row["i"]) - 1].append(row)
    return [
        _matches(found, op.amount, op.at, op.beneficiary_id) for found, op in zip(by_op, ops, strict=True)
    ]


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
