"""Card billing benchmark: prints ONE JSON object (docs/billing.md, "Benchmark").

Measured in one run, on one embedded PostgreSQL, with the sandbox provider in a subprocess over real HTTP
on 127.0.0.1:
(r) BILLINGS recurring billings due today (100,000; a few hundred with BENCH_SMOKE=1) charged by ONE
    billing run (`services.run_billing`: the set-based claim, then chunks of `run.batch_size()` (200)
    charged with one provider call each through the batch card-charge endpoint and booked set-based,
    `run.CONCURRENCY` chunks at once), charges/s, against the
    ledger benchmark's part (b) (transfers/s through the ledger service, 64 callers) in the same run.
    Target: (r) >= 0.5 x (b);
(u) a ROWS-row Registration file (100,000) from upload to every row validated and kept
    (`batches.upload`) against a COPY of the same file into a table, measured as BENCH_UPLOAD_RUNS
    pairs (5; `payouts_bench.paired_uploads`: a COPY, then the upload of the same file, each pair a
    file of its own Billing Numbers). Target: the pairs' median ratio (upload rows/s over COPY rows/s)
    >= 0.3; reported beside it, not judged: the first pair's ratio (the process's first upload also
    pays its one-time costs), each pair, and the floor of any upload that stages its rows in a durable
    keyed table (`payouts_bench.keyed_copy_floor`: COPY of the same file into a logged table with the
    rows tables' key (business_id, batch_id, row_no), committed, no check), rows/s and its ratio to the
    baseline COPY (`floor_keyed_vs_copy`, the best such an upload could reach);
peak RSS growth of this process during (r) and (u) (target < 150 MB); then the checks (every billing
charged once, paid, one payment per invoice number, the money on the account) and the ledger invariants.

CARDS cards are registered on the provider's hosted page as a customer's browser posts it; the other
billings are written set-based with one of those cards each (what the run reads is the same).

    .venv/bin/python bench/billing.py                  # 100,000 billings, a 100,000-row file
    BENCH_SMOKE=1 .venv/bin/python bench/billing.py    # a few seconds, tiny sizes (the smoke test)
    BENCH_PROFILE=1 …                                  # cProfile of the billing run on stderr
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

_spec = importlib.util.spec_from_file_location("payouts_bench", Path(__file__).with_name("payouts.py"))
assert _spec is not None and _spec.loader is not None
payouts_bench = importlib.util.module_from_spec(_spec)
sys.modules["payouts_bench"] = payouts_bench
_spec.loader.exec_module(
    payouts_bench
)  # loads bench/ledger.py (data directory, environment) and the simulator
ledger_bench = payouts_bench.ledger_bench

import asyncio  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

BILLINGS = int(os.environ.get("BENCH_BILLINGS", "300" if SMOKE else "100000"))
ROWS = int(os.environ.get("BENCH_ROWS", "300" if SMOKE else "100000"))
CARDS = int(os.environ.get("BENCH_CARDS", "10" if SMOKE else "100"))
AMOUNT = 150_000
DATA_DIR = ledger_bench.DATA_DIR
log = ledger_bench.log


async def register_cards(actor: Any, today: Any) -> list[str]:
    """CARDS customers and billings due today, each card registered on the provider's hosted page."""
    from portal.domains.billing import services

    ids = []
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(CARDS):
            ref = f"C{n:05d}"
            await services.create_customer(
                actor, customer_id=ref, name=f"Pelanggan {n}", email=f"c{n}@example.com"
            )
            billing = await services.create_billing(
                actor,
                customer_id=ref,
                billing_number=f"BIL-{n:06d}",
                amount=AMOUNT,
                schedule={"schedule_type": "full_date", "dates": [today.isoformat()]},
            )
            started = await services.start_card_registration(actor, billing.id, "http://127.0.0.1:9/done")
            assert started.card.hosted_url
            posted = await http.post(
                started.card.hosted_url,
                data={"card_number": "4111111111111111", "expiry": "12/30", "cvv": "123", "holder": "Budi"},
            )
            assert posted.status_code == 303, posted.text
            done = await services.complete_card_registration(actor, billing.id)
            assert done.card.status == "registered"
            ids.append(billing.id)
    return ids


async def more_billings(business_id: str, today: Any) -> None:
    """The other BILLINGS - CARDS billings, set-based: each a copy of a registered one (customer, card,
    account, schedule) under its own Billing Number, with today as its execute date."""
    from portal.lib import sql

    extra = BILLINGS - CARDS
    if extra <= 0:
        return
    await sql.execute(
        "WITH src AS (SELECT b.*, row_number() OVER (ORDER BY billing_number) - 1 AS k FROM billing b "
        "WHERE business_id = $1) "
        "INSERT INTO billing (business_id, id, customer_id, billing_number, account_id, amount, currency, "
        "description, kind, status, schedule_type, schedule, card_status, card_token, card_first6, "
        "card_last4, card_brand, card_issuer, card_expiry_month, card_expiry_year, card_registered_at) "
        "SELECT s.business_id, 'bil_bench' || lpad(g::text, 8, '0'), s.customer_id, "
        "'BIL-' || lpad(g::text, 6, '0'), s.account_id, s.amount, s.currency, s.description, s.kind, "
        "s.status, s.schedule_type, s.schedule, s.card_status, s.card_token, s.card_first6, s.card_last4, "
        "s.card_brand, s.card_issuer, s.card_expiry_month, s.card_expiry_year, s.card_registered_at "
        "FROM generate_series($2::int, $3::int) g JOIN src s ON s.k = g % $2",
        business_id,
        CARDS,
        BILLINGS - 1,
    )
    # The table grew from CARDS rows to BILLINGS at once: without fresh statistics the foreign-key
    # checks of the next insert are planned as scans of a tiny table (one scan per row).
    await sql.execute("ANALYZE billing")
    await sql.execute(
        "INSERT INTO billing_execute_date (business_id, billing_id, execute_date) "
        "SELECT business_id, id, $2 FROM billing WHERE business_id = $1 AND id LIKE 'bil_bench%'",
        business_id,
        today,
    )
    await sql.execute("ANALYZE billing_execute_date")


def registration_file(rows: int) -> bytes:
    out = io.StringIO()
    out.write("customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates,description\n")
    for i in range(rows):
        out.write(f"C{i % CARDS:05d},REG-{i:06d},{AMOUNT},recurring,date,15,,{1 + i % 12},,\n")
    return out.getvalue().encode()


async def copy_baseline(data: bytes) -> float:
    """COPY of the same file into a table of ten text columns; seconds."""
    from portal.lib import sql

    async with sql.connection() as conn:
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_raw (customer_id text, billing_number text, "
            "amount text, type text, schedule_type text, day text, weekdays text, months text, dates text, "
            "description text)"
        )
        await conn.execute("TRUNCATE bench_raw")
        t0 = time.perf_counter()
        await conn.copy_to_table("bench_raw", source=io.BytesIO(data), format="csv", header=True)
        return time.perf_counter() - t0


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded, stop_embedded

    url = start_embedded(DATA_DIR, cleanup_mode="stop")
    os.environ[RESOLVED_ENV] = url
    from portal.db.migrate import migrate
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=1, max_size=24, **POOL_OPTIONS)
    simulator = None
    try:
        await migrate()
        simulator, sim_url = payouts_bench.start_simulator()
        payouts_bench.use_simulator(sim_url)
        from portal.domains.accounts import services as accounts
        from portal.domains.billing import services
        from portal.domains.billing.services import batches, common, run
        from portal.domains.identity import services as identity
        from portal.domains.identity.auth import user_actor
        from portal.domains.ledger.invariants import check_all
        from portal.lib import sql
        from portal.lib.actor import system_actor

        # (b): the ledger service's transfers/s, 64 callers, uniform, as the ledger benchmark measures it.
        bench_business = "biz_benchledger"
        ids = await ledger_bench.make_accounts(bench_business, ledger_bench.ACCOUNTS, 10**12)
        b_rate = await ledger_bench.service_rate(system_actor(bench_business), ids, None)
        log(f"(b) ledger service {b_rate:.0f} transfers/s")

        business, owner, _link = await identity.create_business(
            name="Bench Billing",
            owner_username="benchbilling",
            owner_email="billing@example.com",
            owner_full_name="Bench Billing",
            mode="sandbox",
        )
        actor = user_actor(owner, business)
        main_account = await accounts.ensure_business_accounts(business.id)
        today = common.today()
        t0 = time.perf_counter()
        await register_cards(actor, today)
        await more_billings(business.id, today)
        log(f"{BILLINGS} billings due {today} ({CARDS} cards registered) in {time.perf_counter() - t0:.1f}s")

        profile = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile()
        with payouts_bench.PeakRss() as run_peak:
            if profile is not None:
                profile.enable()
            t0 = time.perf_counter()
            outcome = await services.run_billing(day=today, business_id=business.id)
            run_s = time.perf_counter() - t0
            if profile is not None:
                import pstats

                profile.disable()
                pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        again = await services.run_billing(day=today, business_id=business.id)
        log(f"(r) run: {outcome} in {run_s:.1f}s; second run charged {again.charged}")

        data = registration_file(ROWS)
        # The run leaves the database writing (dirty pages, autovacuum of the tables it filled); (u)
        # measures the upload, so it starts once that is done, as the COPY beside it does.
        settled = await payouts_bench.settle_database()
        log(f"settled before (u): {settled}")
        floor_s = await payouts_bench.keyed_copy_floor(data)
        with payouts_bench.PeakRss() as upload_peak:
            files = [
                data if k == 0 else data.replace(b"REG-", f"R{k}G-".encode())
                for k in range(payouts_bench.UPLOAD_RUNS)
            ]
            uploads, batch_ids = await payouts_bench.paired_uploads(
                files, copy_baseline, lambda k, f: batches.upload(actor, "registration", f"bench{k}.csv", f)
            )
        kept = [await batches.batch_row(actor, each) for each in batch_ids]
        log(
            f"(u) {len(files)} pairs, median COPY {uploads['median_copy_s']:.3f}s, median upload "
            f"{uploads['median_upload_s']:.3f}s, ratios {[p['ratio'] for p in uploads['pairs']]}; keyed COPY "
            f"{floor_s:.2f}s (rows {[b['total_data'] for b in kept]}, "
            f"invalid {[b['invalid_data'] for b in kept]})"
        )

        # Every billing charged once: one paid charge each, one payment per invoice number, the money held
        # pending on the billing's account.
        charges = await sql.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'paid') AS paid, "
            "count(DISTINCT invoice_number) AS invoices, count(DISTINCT billing_id) AS billings "
            "FROM billing_charge WHERE business_id = $1",
            business.id,
        )
        payments = await sql.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT invoice_number) AS invoices, "
            "coalesce(sum(amount), 0) AS total FROM payment WHERE business_id = $1 AND source = 'billing' "
            "AND status = 'paid'",
            business.id,
        )
        assert charges is not None and payments is not None
        pending = await sql.fetchval(
            "SELECT credits_pending - debits_pending FROM account WHERE business_id = $1 AND id = $2",
            business.id,
            main_account,
        )
        checks = {
            "charges": charges["n"],
            "charges_paid": charges["paid"],
            "payments_paid": payments["n"],
            "pending_on_account": int(pending or 0),
            "second_run_charged": again.charged,
            "rows_validated": [b["total_data"] for b in kept],
            "rows_invalid": [b["invalid_data"] for b in kept],
        }
        checks_ok = (
            charges["n"] == charges["paid"] == charges["invoices"] == charges["billings"] == BILLINGS
            and payments["n"] == payments["invoices"] == BILLINGS
            and payments["total"] == BILLINGS * AMOUNT == int(pending or 0)
            and again.charged == 0
            and all(b["total_data"] == ROWS and b["invalid_data"] == 0 for b in kept)
        )
        violations = await check_all()
        copy_s = uploads["median_copy_s"]
        charge_rate = outcome.charged / run_s
        r_ratio = charge_rate / b_rate
        u_ratio = uploads["median_ratio"]
        rss_mb = max(run_peak.growth, upload_peak.growth) / 1e6
        return {
            "benchmark": "billing",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "polars_threads": payouts_bench.polars_threads(),
            },
            "smoke": SMOKE,
            "billings": BILLINGS,
            "cards": CARDS,
            "rows": ROWS,
            "concurrency": run.CONCURRENCY,
            "r_run_seconds": round(run_s, 2),
            "r_charges_per_s": round(charge_rate, 1),
            "b_service_transfers_per_s_64_callers_uniform": round(b_rate, 1),
            "u_copy_rows_per_s": round(ROWS / copy_s),
            "u_upload_rows_per_s": round(ROWS / uploads["median_upload_s"]),
            "u_floor_keyed_copy_rows_per_s": round(ROWS / floor_s),
            "u_floor_keyed_copy_s": round(floor_s, 3),
            "u_runs": uploads,
            "peak_rss_growth_mb": round(rss_mb, 1),
            "run_peak_rss_growth_mb": round(run_peak.growth / 1e6, 1),
            "upload_peak_rss_growth_mb": round(upload_peak.growth / 1e6, 1),
            "u_settled_before": settled,
            "ratios": {
                "charges_vs_ledger_b": round(r_ratio, 3),
                "upload_vs_copy": u_ratio,
                "first_upload_vs_its_copy": uploads["first_ratio"],
                "floor_keyed_vs_copy": round(copy_s / floor_s, 3),
            },
            "targets": {"charges_vs_ledger_b": 0.5, "upload_vs_copy": 0.3, "peak_rss_growth_mb": 150},
            "targets_met": {
                "charges_vs_ledger_b": r_ratio >= 0.5,
                "upload_vs_copy": u_ratio >= 0.3,
                "peak_rss_growth_mb": rss_mb < 150,
            },
            "checks": {**checks, "ok": checks_ok},
            "invariants": {
                "ok": not violations and checks_ok,
                "violations": [v.detail for v in violations],
            },
        }
    finally:
        if simulator is not None:
            payouts_bench.stop_simulator(simulator)
        await engine().close_connection_pool()
        stop_embedded()


if __name__ == "__main__":
    result: dict[str, Any] = {"invariants": {"ok": False}}
    try:
        result = asyncio.run(main())
        print(json.dumps(result))
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    sys.exit(0 if result["invariants"]["ok"] else 1)
