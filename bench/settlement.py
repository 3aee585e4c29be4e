"""Settlement benchmark: prints ONE JSON object.

Measured in one run, on one embedded PostgreSQL:
(b) the ledger's service transfers/s, 64 callers, uniform — bench/ledger.py's part (b), by importing it;
(s) payments settled/s: PAYMENTS paid payments (pending in on ACCOUNTS accounts, a third of them split
    3–10 ways to other accounts of the business) applied as settlement batches of BATCH payments each
    (`services.apply_batch`: one ledger group per batch). Target: (s) >= 2 x (b) — a batch is
    set-based work;
peak RSS growth of this process while applying (target < 200 MB); then the ledger invariants and the
money check: Σ destinations + remainders + fees = gross.

The provider's settlement report is stood in by batch rows written the way `create_batches` writes
them (the report's HTTP round trips are not what is measured); the payments are booked set-based as
`book_payment` books them (a pending hold from the clearing account each).

    .venv/bin/python bench/settlement.py              # 100,000 payments over 1,000 accounts
    BENCH_SMOKE=1 .venv/bin/python bench/settlement.py  # a few seconds, tiny sizes (the smoke test)
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"
if SMOKE:
    os.environ.setdefault("BENCH_RUNS", "1")
    os.environ.setdefault("BENCH_SECONDS", "1")
    os.environ.setdefault("BENCH_LOOP", "asyncio")

_spec = importlib.util.spec_from_file_location("ledger_bench", Path(__file__).with_name("ledger.py"))
assert _spec is not None and _spec.loader is not None
ledger_bench = importlib.util.module_from_spec(_spec)
sys.modules["ledger_bench"] = ledger_bench
_spec.loader.exec_module(ledger_bench)  # sets the data directory and the environment

import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "2000" if SMOKE else "100000"))
ACCOUNTS = int(os.environ.get("BENCH_PAY_ACCOUNTS", "50" if SMOKE else "1000"))
BATCH = int(os.environ.get("BENCH_BATCH", "1000" if SMOKE else "10000"))
RUNS = ledger_bench.RUNS
DATA_DIR = ledger_bench.DATA_DIR
log = ledger_bench.log
BUSINESS = "biz_settlebench"


def split_of(rng: random.Random, accounts: list[str], own: str) -> list[dict[str, Any]]:
    """3–10 account destinations by percent (hundredths), together at most 100 %."""
    n = rng.randint(3, 10)
    targets = rng.sample([a for a in accounts if a != own], n)
    cuts = sorted(rng.sample(range(1, 10_000), n))
    shares = [b - a for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
    return [
        {"kind": "account", "account_id": t, "percent": s, "amount": None}
        for t, s in zip(targets, shares, strict=True)
    ]


async def book_paid(accounts: list[str]) -> tuple[int, int]:
    """PAYMENTS paid VA payments, set-based: payment rows and one ledger operation of pending holds per
    1,000 payments. Returns (gross, fees)."""
    from portal.domains.accounts import services as account_services
    from portal.domains.ledger import engine
    from portal.domains.ledger.engine import Leg, Operation
    from portal.domains.ledger.services.holds import hold_legs_committed
    from portal.lib import sql
    from portal.lib.ids import new_id

    rng = random.Random(11)
    clearing = await account_services.system_account_id(BUSINESS, "IDR", "clearing")
    gross = fees = 0
    for start in range(0, PAYMENTS, 1000):
        rows = []
        holds = []
        legs = []
        for k in range(start, min(start + 1000, PAYMENTS)):
            account = accounts[k % len(accounts)]
            amount = rng.randint(10_000, 2_000_000)
            payment_id, hold_id = new_id("pay"), new_id("hld")
            split = split_of(rng, accounts, account) if k % 3 == 0 else None
            rows.append(
                (payment_id, account, amount, f"BENCH-{k}", json.dumps(split) if split else None, hold_id)
            )
            leg = Leg(clearing, account, amount, kind="payment", phase="pending", hold_id=hold_id)
            legs.append(leg)
            holds.append((leg, hold_id, None))
            gross += amount
            fees += 4_000
        await engine.execute(
            Operation(BUSINESS, legs, internal=True, on_commit=hold_legs_committed(holds, None, BUSINESS))
        )
        await sql.execute(
            "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, bank_code, "
            "invoice_number, "
            "customer_name, source, request_hash, status, split, fee, hold_id, paid_at) "
            "SELECT $1, p, a, m, 'IDR', 'va', '014', i, 'Bench', 'api', 'x', 'paid', s::jsonb, 4000, "
            "h, now() "
            "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[]) "
            "AS t(p, a, m, i, s, h)",
            BUSINESS,
            *[[row[n] for row in rows] for n in range(6)],
        )
    return gross, fees


async def make_batches() -> list[str]:
    """Batches of BATCH payments, as `create_batches` writes them from the provider's reports."""
    from portal.lib import sql
    from portal.lib.ids import new_id

    ids = await sql.fetch("SELECT id FROM payment WHERE business_id = $1 ORDER BY id", BUSINESS)
    batches = []
    day = date(2026, 1, 5)
    for n, start in enumerate(range(0, len(ids), BATCH)):
        chunk = [r["id"] for r in ids[start : start + BATCH]]
        settlement_id = new_id("stl")
        await sql.execute(
            "INSERT INTO settlement (business_id, id, channel, business_day, settlement_date, "
            "payment_count, gross, "
            "fees, net) SELECT $1, $2, 'va', $3, $4, count(*), sum(amount), sum(fee), sum(amount) - sum(fee) "
            "FROM payment WHERE business_id = $1 AND id = ANY($5::text[])",
            BUSINESS,
            settlement_id,
            day + timedelta(days=n),
            day + timedelta(days=n + 1),
            chunk,
        )
        await sql.execute(
            "INSERT INTO settlement_line (business_id, settlement_id, payment_id, account_id, "
            "amount, fee, refunded, "
            "refund_fee, net) SELECT $1, $2, id, account_id, amount, fee, 0, 0, amount - fee FROM payment "
            "WHERE business_id = $1 AND id = ANY($3::text[])",
            BUSINESS,
            settlement_id,
            chunk,
        )
        await sql.execute(
            "UPDATE payment SET settlement_id = $2 WHERE business_id = $1 AND id = ANY($3::text[])",
            BUSINESS,
            settlement_id,
            chunk,
        )
        batches.append(settlement_id)
    return batches


async def main() -> dict[str, Any]:
    import psutil

    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    dsn = start_embedded(DATA_DIR)
    os.environ[RESOLVED_ENV] = dsn
    from portal.db.migrate import migrate
    from portal.domains.ledger.invariants import check_all
    from portal.domains.payments import services
    from portal.lib import sql
    from portal.lib.actor import Actor, system_actor
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=2, max_size=8, **POOL_OPTIONS)
    await migrate()

    log(f"(b) ledger service transfers, 64 callers, uniform ({ledger_bench.ACCOUNTS} accounts)")
    actor = Actor(
        business_id="biz_bench", rights=system_actor("biz_bench").rights, name="bench", user_id="usr_bench"
    )
    ids = await ledger_bench.make_accounts("biz_bench", ledger_bench.ACCOUNTS, 10**12)
    rates_b = []
    for _ in range(RUNS):
        rates_b.append(await ledger_bench.service_rate(actor, ids, None))
        log(f"  {rates_b[-1]:.0f}/s")
    b = statistics.median(rates_b)

    log(f"(s) {PAYMENTS} paid payments over {ACCOUNTS} accounts, batches of {BATCH}")
    accounts = await ledger_bench.make_accounts(BUSINESS, ACCOUNTS, 1)
    gross, fees = await book_paid(accounts)
    batches = await make_batches()
    me = psutil.Process()
    rss0 = peak = me.memory_info().rss
    settled = 0
    started = time.perf_counter()
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    for settlement_id in batches:
        applied = await services.apply_batch(BUSINESS, settlement_id)
        settled += applied.payment_count
        peak = max(peak, me.memory_info().rss)
    elapsed = time.perf_counter() - started
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    s = settled / elapsed
    log(f"  {s:.0f} payments settled/s ({elapsed:.1f} s)")

    # Every rupiah accounted for: what the accounts received + the fees = gross.
    # (each account was opened with Rp1 of funding, taken off)
    received = (
        await sql.fetchval(
            "SELECT sum(credits_posted - debits_posted) FROM account WHERE business_id = $1 AND kind "
            "<> 'system'",
            BUSINESS,
        )
        - ACCOUNTS
    )
    violations = await check_all()
    await engine().close_connection_pool()
    return {
        "benchmark": "settlement",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "smoke": SMOKE,
        "runs": RUNS,
        "payments": PAYMENTS,
        "accounts": ACCOUNTS,
        "batch_size": BATCH,
        "batches": len(batches),
        "b_service_transfers_per_s_64_callers_uniform": round(b, 1),
        "s_payments_settled_per_s": round(s, 1),
        "peak_rss_growth_mb": round((peak - rss0) / 2**20, 1),
        "ratios": {"s_over_b": round(s / b, 2) if b else None},
        "targets_met": {"s_ge_2b": s >= 2 * b, "rss_growth_lt_200mb": (peak - rss0) < 200 * 2**20},
        "money": {
            "gross": gross,
            "fees": fees,
            "received": int(received or 0),
            "ok": int(received or 0) + fees == gross,
        },
        "invariants": {
            "ok": not violations and int(received or 0) + fees == gross,
            "violations": [f"{v.invariant}: {v.detail}" for v in violations],
        },
    }


if __name__ == "__main__":
    result: dict[str, Any] = {"invariants": {"ok": False}}
    try:
        result = asyncio.run(main())
        print(json.dumps(result))
    finally:
        from portal.db.embedded import stop_embedded

        stop_embedded()
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    sys.exit(0 if result["invariants"]["ok"] else 1)
