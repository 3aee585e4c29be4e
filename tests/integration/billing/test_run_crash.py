"""A `neraca billing run` process killed with SIGKILL in the middle of its charges: the next run takes
the dead process's claims over and every execute date ends charged exactly once at the provider."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from portal.domains.billing import services
from portal.domains.billing.services import common
from portal.domains.provider import gateway
from portal.lib import clock, sql
from tests.support.billing import billing_business, customer_and_billing, register_card

NERACA = str(Path(sys.executable).with_name("neraca"))
COUNT = 40


async def test_a_run_killed_mid_way_is_finished_by_the_next_without_a_second_charge(
    database: str, db: str
) -> None:
    actor, business = await billing_business()
    today = common.today()
    for n in range(COUNT):
        billing = await customer_and_billing(
            actor, f"BIL-K{n:02d}", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
        )
        await register_card(actor, billing.id)
    env = {**os.environ, "DATABASE_URL": database, "NERACA_LOG_LEVEL": "WARNING"}
    env.pop("NERACA_RESOLVED_DATABASE_URL", None)
    process = subprocess.Popen(  # noqa: ASYNC220 (started once; the test then polls the database)
        [NERACA, "billing", "run", "--business", business.id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            done = await sql.fetchval(
                "SELECT count(*) FROM billing_charge WHERE business_id = $1 AND status = 'paid'", business.id
            )
            if done or process.poll() is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # Later than the dead process's claims can live: the next run takes them over. A charge whose
    # outcome the provider did not give in time (a loaded machine) stays pending and the following run
    # asks again under the same invoice number, so allow a few runs; exactly-once is checked below.
    for run in range(1, 4):
        moment = clock.now() + timedelta(minutes=6 * run)
        clock.set_clock(lambda moment=moment: moment)
        try:
            await services.run_billing(business_id=business.id, worker=f"after-crash-{run}")
        finally:
            clock.set_clock(None)
        left = await sql.fetchval(
            "SELECT count(*) FROM billing_charge WHERE business_id = $1 AND status <> 'paid'", business.id
        )
        if not left:
            break
    rows = await sql.fetch(
        "SELECT invoice_number, status, provider_payin_id, payment_id FROM billing_charge WHERE "
        "business_id = $1",
        business.id,
    )
    assert len(rows) == COUNT and {r["status"] for r in rows} == {"paid"}
    assert len({r["provider_payin_id"] for r in rows}) == COUNT
    provider = gateway.provider()
    for row in rows:
        found = await provider.find_payin(business.id, row["payment_id"])
        assert found is not None and found.payin_id == row["provider_payin_id"] and found.status == "paid"
    attempts = await sql.fetchval(
        "SELECT count(*) FROM billing_charge_attempt WHERE business_id = $1", business.id
    )
    assert attempts == COUNT
    # One payment per charge, each paid and credited pending on the billing's account.
    payments = await sql.fetch(
        "SELECT invoice_number, status, source FROM payment WHERE business_id = $1", business.id
    )
    assert sorted(p["invoice_number"] for p in payments) == sorted(r["invoice_number"] for r in rows)
    assert {(p["status"], p["source"]) for p in payments} == {("paid", "billing")}
