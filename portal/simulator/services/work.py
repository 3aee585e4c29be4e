"""The simulator's background work: due items on merchant clocks, then callback delivery.

Due work lives in `sim_work` (written in the same transaction as what scheduled it), so a restart
loses nothing; each item is done and deleted in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import httpx
import structlog

from portal.simulator.services import callbacks, payins, payouts

log = structlog.get_logger("neraca.simulator")

HANDLERS = {"payout_complete": payouts.complete_due, "payin_expire": payins.expire_due}


async def run_due(pool: asyncpg.Pool, limit: int = 50) -> int:
    """Do every work item whose time has come on its merchant's clock; returns how many."""
    done = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT w.id, w.kind, w.subject_id FROM sim_work w LEFT JOIN sim_clocks c ON c.merchant_id = "
            "w.merchant_id "
            "WHERE w.due_at <= now() + make_interval(secs => coalesce(c.offset_s, 0)) "
            "ORDER BY w.due_at, w.id LIMIT $1 FOR UPDATE OF w SKIP LOCKED",
            limit,
        )
        for row in rows:
            try:
                async with conn.transaction():  # a savepoint: one bad item must not hold up the others
                    await HANDLERS[row["kind"]](conn, row["subject_id"])
                    await conn.execute("DELETE FROM sim_work WHERE id = $1", row["id"])
            except Exception:
                log.exception("simulator.work_item_failed", kind=row["kind"], subject_id=row["subject_id"])
                await conn.execute(
                    "UPDATE sim_work SET due_at = due_at + interval '1 minute' WHERE id = $1", row["id"]
                )
            done += 1
    return done


KEY_RETENTION = "7 days"  # idempotency keys answer retries for a week, as providers keep them
PRUNE_EVERY_S = 600


async def prune_keys(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"DELETE FROM sim_requests WHERE created_at < now() - interval '{KEY_RETENTION}'")


async def loop_due_work(pool: asyncpg.Pool, stop: asyncio.Event, interval: float) -> None:
    pruned_at = 0.0
    while not stop.is_set():
        try:
            while await run_due(pool):
                pass
            if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                await prune_keys(pool)
                pruned_at = time.monotonic()
        except Exception:  # the loop must outlive one bad item; the item stays and is retried
            log.exception("simulator.work_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def loop_callbacks(pool: asyncpg.Pool, stop: asyncio.Event, interval: float) -> None:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while not stop.is_set():
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await callbacks.release_due_held(conn)
                while not stop.is_set() and await callbacks.deliver_one(pool, client):
                    pass
            except Exception:
                log.exception("simulator.callback_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
