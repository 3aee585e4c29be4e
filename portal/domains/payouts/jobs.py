"""Payouts jobs: submit a scheduled payout when its rail opens, and the sweeps behind the per-payout jobs
(due payouts, and submitted ones without news, settled by a status query)."""

from __future__ import annotations

from typing import Any

import structlog

from portal.domains.payouts import batches, lifecycle
from portal.lib.jobs import job, periodic

log = structlog.get_logger("neraca.payouts")


@job("payouts.submit")
async def submit(payload: dict[str, Any]) -> None:
    await lifecycle.submit_payout(payload["business_id"], payload["payout_id"])


@job("payouts.submit_batch")
async def submit_batch(payload: dict[str, Any]) -> None:
    await lifecycle.submit_batch_due(payload["business_id"], payload["batch_id"])


@job("payouts.inquire_batch")
async def inquire_batch(payload: dict[str, Any]) -> None:
    """The provider's name inquiry for a batch's rows (after the upload, after a row is fixed, on "Check
    again"); rows the provider could not answer are asked again by a later run, then marked unavailable."""
    attempt = int(payload.get("attempt") or 1)
    check = await batches.run_name_inquiry_job(payload["business_id"], payload["batch_id"], attempt)
    log.info(
        "batch names inquired",
        batch_id=payload["batch_id"],
        attempt=attempt,
        answered=check.answered,
        unanswered=check.unanswered,
        unavailable=check.unavailable,
    )


@job("payouts.dispatch_withdrawal")
async def dispatch_withdrawal(payload: dict[str, Any]) -> None:
    await lifecycle.dispatch_withdrawal(
        payload["business_id"],
        payload["withdrawal_id"],
        review=bool(payload.get("review")),
        maker=payload.get("maker"),
        maker_name=str(payload.get("maker_name") or ""),
    )


@periodic("* * * * *")
async def submit_due() -> None:
    """Every minute: payouts whose rail opened (a job lost or a clock moved) and stale submissions."""
    by_business: dict[str, list[str]] = {}
    for business_id, payout_id in await lifecycle.due_payouts():
        by_business.setdefault(business_id, []).append(payout_id)
    for business_id, payout_ids in by_business.items():
        await lifecycle.submit_many(business_id, payout_ids)
    for business_id, payout_id in await lifecycle.stale_submissions():
        outcome = await lifecycle.query_payout(business_id, payout_id)
        log.info("payout status queried", payout_id=payout_id, outcome=outcome)
