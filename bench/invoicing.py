"""Invoicing benchmark: prints ONE JSON object (described in docs/invoices.md, "Benchmark").

In its own embedded PostgreSQL:
(b) transfers/s through the ledger service, 64 concurrent callers, one transfer per call, uniform over
    10,000 accounts — the ledger benchmark's (b), the baseline, measured in the same run before and after
    the cycle (the machine is shared; the ratio uses their mean);
(i) one billing cycle for BENCH_SUBSCRIPTIONS subscriptions (default 100,000, each its own funded
    account, a fixed plan with PPN 11 %): every invoice issued (`generate_due`) and collected from its
    account's balance (`collect_due`), set-based by batches as the cycle job runs it; invoices issued
    and collected per second, and the ratio to (b) (target ≥ 1);
then the checks: one invoice per subscription, numbers 1..N without a gap, every invoice paid, the
receiving account credited with the sum, and the ledger invariants.

    .venv/bin/python bench/invoicing.py              # BENCH_SUBSCRIPTIONS=100000 BENCH_SECONDS=8
    BENCH_SMOKE=1 .venv/bin/python bench/invoicing.py   # tiny (what the test suite does)
    BENCH_PROFILE=1 …     # on stderr: wall time per SQL statement and a cProfile of the cycle
    BENCH_PROFILE=sql …   # the statements only (cProfile slows the Python side down)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(tempfile.mkdtemp(prefix="neraca-bench-inv-"))
os.environ.update(
    {
        "NERACA_DATA_DIR": str(DATA_DIR),
        "NERACA_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "NERACA_LOG_LEVEL": "WARNING",
        "NERACA_LOG_JSON": "0",
        "NERACA_WORKER_IN_PROCESS": "0",
        "NERACA_ENV": "bench",
    }
)
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, str(REPO))

import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from datetime import time as clock_time  # noqa: E402
from typing import Any  # noqa: E402

# BENCH_SMOKE=1: every part once at a tiny size, so the test suite proves the benchmark still works.
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "300" if SMOKE else "100000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200" if SMOKE else "10000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1" if SMOKE else "8"))
CALLERS = 64
FEE = 100_000  # the plan's fixed amount; PPN 11 % makes each invoice Rp111.000
START = date(2026, 1, 1)
CYCLE_DAY = date(2026, 2, 1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the embedded postmaster and its children (backends, WAL writer…; Linux)."""
    postmaster = int((DATA_DIR / "pgdata" / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if postmaster in (int(entry), int(fields[1])):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class StatementTimes:
    """BENCH_PROFILE: wall time per SQL statement of the cycle (asyncpg's calls timed, keyed by the
    statement's first words), printed on stderr with a cProfile of the Python side."""

    METHODS = ("fetch", "fetchrow", "fetchval", "execute", "copy_records_to_table")

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}
        self.saved: dict[str, Any] = {}
        self.cpu = (0.0, 0.0)

    def __enter__(self) -> StatementTimes:
        import asyncpg

        self.cpu = (time.process_time(), postgres_cpu_seconds())

        for name in self.METHODS:
            original = self.saved[name] = getattr(asyncpg.Connection, name)
            setattr(asyncpg.Connection, name, self._timed(original))
        return self

    def _timed(self, original: Any) -> Any:
        async def timed(conn: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(conn, query, *args, **kwargs)
            finally:
                # A COPY is named by its table (its first argument).
                key = f"COPY {query}" if original.__name__ == "copy_records_to_table" else query
                key = " ".join(key.split())[:100]
                entry = self.totals.setdefault(key, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        return timed

    def __exit__(self, *exc: object) -> None:
        import asyncpg

        self.cpu = (time.process_time() - self.cpu[0], postgres_cpu_seconds() - self.cpu[1])

        for name, original in self.saved.items():
            setattr(asyncpg.Connection, name, original)

    def report(self, wall: float) -> None:
        python, postgres = self.cpu
        log(
            f"CPU time: Python {python:.1f}s + PostgreSQL {postgres:.1f}s = {python + postgres:.1f}s "
            f"({1e6 * (python + postgres) / SUBSCRIPTIONS:.0f} µs per invoice) in {wall:.1f}s of wall time"
        )
        log(f"SQL statements, wall time (of {wall:.1f}s):")
        for key, (calls, seconds) in sorted(self.totals.items(), key=lambda kv: -kv[1][1])[:25]:
            log(f"  {seconds:7.2f}s {100 * seconds / wall:5.1f}% {calls:6d}x  {key}")


async def make_accounts(business_id: str, main: str, n: int, funding: int) -> list[str]:
    """n partner accounts under the main account, each funded from the world account (set-based)."""
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import engine
    from portal.domains.ledger.engine import Leg, Operation
    from portal.lib import sql
    from portal.lib.ids import new_id

    ids = [new_id("acc") for _ in range(n)]
    await sql.execute(
        "INSERT INTO account (id, business_id, parent_id, path, depth, name, kind, currency) "
        "SELECT i, $1, $2, $3 || i || '/', 1, 'Partner ' || i, 'partner', 'IDR' FROM unnest($4::text[]) AS i",
        business_id,
        main,
        f"/{main}/",
        ids,
    )
    world = await accounts.system_account_id(business_id, "IDR", "world")
    for start in range(0, n, 1000):
        legs = [Leg(world, a, funding, kind="topup") for a in ids[start : start + 1000]]
        await engine.execute(Operation(business_id, legs, internal=True))
    return ids


async def service_rate(actor: Any, ids: list[str]) -> float:
    """(b): 64 callers, one transfer per call between two random accounts, for SECONDS seconds."""
    from portal.domains.ledger import services as ledger
    from portal.lib.errors import NeracaError

    done = 0
    deadline = time.perf_counter() + SECONDS

    async def caller() -> None:
        nonlocal done
        rng = random.Random()
        while time.perf_counter() < deadline:
            a, b = rng.choice(ids), rng.choice(ids)
            if a == b:
                continue
            try:
                await ledger.create_transfer(
                    actor,
                    from_account_id=a,
                    to_account_id=b,
                    amount=rng.randint(1, 100),
                    reference=uuid.uuid4().hex,
                )
                done += 1
            except NeracaError:
                pass

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return done / (time.perf_counter() - started)


async def subscribe_all(business_id: str, plan_id: str, accounts: list[str]) -> None:
    """The subscriptions, inserted set-based (the set-up, not what is measured)."""
    from portal.lib import sql
    from portal.lib.ids import new_id

    await sql.execute(
        "INSERT INTO invoice_subscription (business_id, id, plan_id, account_id, cycle_day, starts_on, "
        "period_start, period_end) SELECT $1, s, $2, a, 1, $3, $3, $4 "
        "FROM unnest($5::text[], $6::text[]) AS t(s, a)",
        business_id,
        plan_id,
        START,
        CYCLE_DAY,
        [new_id("sub") for _ in accounts],
        accounts,
    )


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded, stop_embedded

    url = start_embedded(DATA_DIR, cleanup_mode="stop")
    os.environ[RESOLVED_ENV] = url
    from portal.db.migrate import migrate
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=2, max_size=8, **POOL_OPTIONS)
    try:
        await migrate()
        from portal.domains.accounts import services as accounts
        from portal.domains.invoices import services as invoices
        from portal.domains.ledger.invariants import check_all
        from portal.domains.payouts.router import WIB
        from portal.lib import clock, sql
        from portal.lib.actor import Actor, system_actor

        business_id = "biz_bench"
        actor = Actor(
            business_id=business_id, rights=system_actor(business_id).rights, name="bench", user_id="usr_b"
        )
        main = await accounts.ensure_business_accounts(business_id)
        log(f"setting up {ACCOUNTS} accounts for (b)")
        transfer_ids = await make_accounts(business_id, main, ACCOUNTS, 10**12)
        log("(b) service transfers/s, 64 callers")
        rate_b = await service_rate(actor, transfer_ids)
        log(f"  {rate_b:.0f}/s")

        log(f"setting up {SUBSCRIPTIONS} subscriptions, each its own funded account")
        billed = await make_accounts(business_id, main, SUBSCRIPTIONS, 1_000_000)
        plan = await invoices.create_plan(
            actor, name="Franchise fee", receiving_account_id=main, fixed_amount=FEE
        )
        await subscribe_all(business_id, plan.id, billed)
        main_before = await sql.fetchval(
            "SELECT credits_posted FROM account WHERE business_id = $1 AND id = $2", business_id, main
        )

        moment = datetime.combine(CYCLE_DAY, clock_time(1), tzinfo=WIB).astimezone(UTC)
        clock.set_clock(lambda: moment)
        try:
            log("(i) one cycle: issue and collect")
            profile = statements = None
            if os.environ.get("BENCH_PROFILE") in ("1", "sql"):
                import cProfile

                statements = StatementTimes().__enter__()
                if os.environ["BENCH_PROFILE"] == "1":
                    profile = cProfile.Profile()
                    profile.enable()
            t0 = time.perf_counter()
            issued = await invoices.generate_due(business_id=business_id)
            t1 = time.perf_counter()
            attempted = await invoices.collect_due(business_id=business_id)
            t2 = time.perf_counter()
        finally:
            clock.set_clock(None)
        if statements is not None:
            statements.__exit__()
            statements.report(t2 - t0)
        if profile is not None:
            import pstats

            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        rate_i = SUBSCRIPTIONS / (t2 - t0)
        log(f"  issued {issued} in {t1 - t0:.1f}s, collected {attempted} in {t2 - t1:.1f}s: {rate_i:.0f}/s")
        # The machine is shared: (b) again after the cycle, and the ratio against the mean of both.
        log("(b) again")
        rate_b_after = await service_rate(actor, transfer_ids)
        log(f"  {rate_b_after:.0f}/s")
        rate_b_mean = (rate_b + rate_b_after) / 2

        check = await sql.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT subscription_id) AS subs, min(number) AS lo, "
            "max(number) AS hi, "
            "count(*) FILTER (WHERE status = 'paid') AS paid, coalesce(sum(paid_amount), 0) AS collected "
            "FROM invoice WHERE business_id = $1",
            business_id,
        )
        main_after = await sql.fetchval(
            "SELECT credits_posted FROM account WHERE business_id = $1 AND id = $2", business_id, main
        )
        assert check is not None
        expected_total = SUBSCRIPTIONS * (FEE + FEE * 11 // 100)
        checks = {
            "one_invoice_per_subscription": check["n"] == check["subs"] == SUBSCRIPTIONS,
            "numbers_without_gaps": (check["lo"], check["hi"]) == (1, SUBSCRIPTIONS),
            "all_paid": check["paid"] == SUBSCRIPTIONS,
            "receiving_account_credited": main_after - main_before == check["collected"] == expected_total,
        }
        violations = await check_all()
        ok = not violations and all(checks.values())
        return {
            "benchmark": "invoicing",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "smoke": SMOKE,
            "subscriptions": SUBSCRIPTIONS,
            "b_service_transfers_per_s_64_callers_uniform": round(rate_b_mean),
            "b_before_and_after_the_cycle": [round(rate_b), round(rate_b_after)],
            "i_invoices_issued_and_collected_per_s": round(rate_i),
            "i_issue_seconds": round(t1 - t0, 2),
            "i_collect_seconds": round(t2 - t1, 2),
            "ratios": {"i_over_b": round(rate_i / rate_b_mean, 2) if rate_b_mean else None},
            "targets_met": {"i_over_b_at_least_1": rate_b_mean > 0 and rate_i >= rate_b_mean},
            "checks": checks,
            "invariants": {
                "ok": ok,
                "violations": [f"{v.invariant}: {v.detail}" for v in violations]
                + [name for name, good in checks.items() if not good],
            },
        }
    finally:
        await engine().close_connection_pool()
        stop_embedded()


if __name__ == "__main__":
    try:
        result = asyncio.run(main())
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(json.dumps(result))
    sys.exit(0 if result["invariants"]["ok"] else 1)
