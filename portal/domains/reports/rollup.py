"""Per-account, per-day posted totals: the read model statements take their balances and totals from.

`statement_day_total(account_id, day)` holds, for one account and one WIB calendar day, the posted debits,
credits and entry count (legs) of that day; `statement_rollup_watermark.complete_before` says every day
before it is in the table. Both are derived from the immutable `transfer` table by the job
`reports.rollup_days` (this module), never by the ledger's write path.

When is a day closed? A transfer's `created_at` is its transaction's start (`now()`), so a transaction
that starts at 23:59:59.9 WIB and commits a little after midnight belongs to the day before. A day is
therefore rolled up only when both hold:

- it ended at least `SAFETY_MARGIN` (15 minutes) ago — ledger transactions last milliseconds (group
  commit), 15 minutes is orders of magnitude more than any of them; and
- no client transaction of the database that is still open started before the day's end
  (`pg_stat_activity.xact_start`), checked immediately before the read; a transaction that did start
  earlier (a stuck session) holds the watermark back until it ends, however long that is.

Then every transfer of the day has committed, and the rows read are final: transfers are never updated
or deleted, so a closed day never changes. Rows are inserted with `ON CONFLICT DO NOTHING` and the
watermark only moves forward, under a transaction-scoped advisory lock, so the job is idempotent and two
workers running it at once do the work once. The work is done `CHUNK_DAYS` days per transaction (a
first run over a long history does not hold one huge transaction), each chunk one set-based
`INSERT … SELECT … GROUP BY` driven by the `(business_id, created_at)` index of `transfer`.

Statements read the watermark in their own snapshot and use rollup rows for days before it and scan the
transfers for the rest, so they are exact whether the rollup is current, behind, or has never run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import structlog

from portal.lib import clock, sql
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB

log = structlog.get_logger("neraca.reports.rollup")

JOB = "reports.rollup_days"
SAFETY_MARGIN = timedelta(minutes=15)
# Slot width of a one-off run queued by statements that see the watermark far behind (one per slot).
EVERY = timedelta(minutes=5)
CHUNK_DAYS = 31
_LOCK_KEY = 0x4E52_5244  # "NRRD": one rollup at a time

WATERMARK = "SELECT complete_before FROM statement_rollup_watermark WHERE id"

# The oldest start of a client transaction still open in this database (other than ours).
_OLDEST_OPEN = """
SELECT min(xact_start) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
      AND backend_type = 'client backend'
"""

_FIRST_TRANSFER = """
SELECT min(f.first) FROM (SELECT DISTINCT business_id FROM account) b
CROSS JOIN LATERAL (SELECT min(t.created_at) AS first FROM transfer t WHERE t.business_id = b.business_id) f
"""

# Posted legs of every account for the WIB days [$1, $2), per business through (business_id, created_at).
_ROLL_UP = """
INSERT INTO statement_day_total (account_id, business_id, day, debits, credits, entries)
SELECT leg.account_id, t.business_id, (t.created_at AT TIME ZONE 'Asia/Jakarta')::date,
       sum(leg.debit)::bigint, sum(leg.credit)::bigint, count(*)
FROM (SELECT DISTINCT business_id FROM account) b
JOIN transfer t ON t.business_id = b.business_id
     AND t.created_at >= ($1::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
     AND t.created_at < ($2::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
     AND t.phase IN ('posted', 'post_pending')
CROSS JOIN LATERAL (VALUES (t.debit_account_id, t.amount, 0::bigint),
                           (t.credit_account_id, 0::bigint, t.amount)) AS leg (account_id, debit, credit)
GROUP BY 1, 2, 3
ON CONFLICT (account_id, day) DO NOTHING
"""

_SET_WATERMARK = """
INSERT INTO statement_rollup_watermark (id, complete_before, updated_at) VALUES (true, $1, now())
ON CONFLICT (id) DO UPDATE SET complete_before = greatest(statement_rollup_watermark.complete_before,
                                                          EXCLUDED.complete_before),
                               updated_at = EXCLUDED.updated_at
"""


def wib_day(at: datetime) -> date:
    return at.astimezone(WIB).date()


def closable_before(now: datetime) -> date:
    """The first day that may not be closed yet at `now`: days before it ended `SAFETY_MARGIN` ago."""
    return wib_day(now - SAFETY_MARGIN)


async def watermark() -> date | None:
    value = await sql.fetchval(WATERMARK)
    return value if isinstance(value, date) else None


async def rollup_days(now: datetime | None = None, *, chunk_days: int = CHUNK_DAYS) -> date | None:
    """Roll up every closed day not rolled up yet; returns the new watermark (None: no transfers yet).

    Idempotent and safe to run concurrently (advisory lock, `ON CONFLICT DO NOTHING`, a watermark that
    only moves forward)."""
    now = now or clock.now()
    target = closable_before(now)
    while True:
        async with transaction() as tx:
            conn = tx.connection
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            current = await conn.fetchval(WATERMARK)
            oldest = await conn.fetchval(_OLDEST_OPEN)
            limit = target
            if oldest is not None and wib_day(oldest) < limit:
                log.warning("rollup held back by an open transaction", xact_start=oldest.isoformat())
                limit = wib_day(oldest)
            if current is None:
                first = await conn.fetchval(_FIRST_TRANSFER)
                if first is None:
                    return None  # nothing booked yet: nothing to close
                current = wib_day(first)
            if current >= limit:
                return current
            upto = min(limit, current + timedelta(days=chunk_days))
            # READ COMMITTED: this statement's snapshot is taken after the open-transaction check above,
            # so every transfer of the closed days is visible to it.
            await conn.execute(_ROLL_UP, current, upto)
            await conn.execute(_SET_WATERMARK, upto)
        if upto >= limit:
            return upto


def next_slot(now: datetime) -> datetime:
    """The next `EVERY` boundary after `now` (kicks within one slot share a dedupe key)."""
    step = int(EVERY.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp((stamp // step + 1) * step, tz=now.tzinfo)


async def schedule(now: datetime | None = None) -> bool:
    """Enqueue a run of the job at the next slot (False when that slot is already queued)."""
    from pgqueuer.errors import DuplicateJobError

    from portal.lib.jobs import enqueue

    now = now or clock.now()
    when = next_slot(now)
    try:
        async with transaction():
            await enqueue(
                JOB,
                {"slot": when.isoformat()},
                delay=max(timedelta(0), when - now),
                dedupe_key=f"{JOB}:{when.isoformat()}",
            )
    except DuplicateJobError:
        return False
    return True


async def kick_if_behind(seen: date | None, now: datetime | None = None) -> None:
    """Called by statements with the watermark they saw: when it is more than a day behind what could be
    closed (e.g. a fresh database, or no worker running the sweep), queue a run. Never raises."""
    now = now or clock.now()
    if seen is not None and seen >= closable_before(now) - timedelta(days=1):
        return
    try:
        await schedule(now)
    except Exception:  # a statement must not fail because the job could not be queued
        log.exception("could not schedule the statement rollup")
