"""Delete execute date test helpers: a single payment scheduled on a billing, as a processed Batch
Transaction row leaves it (or already run, with the status given)."""

from __future__ import annotations

from datetime import date

from portal.lib import sql
from portal.lib.ids import new_id


async def single_payment(
    business_id: str, billing_id: str, invoice_number: str, day: date, status: str = "pending"
) -> str:
    """A `single` charge of the billing on `day`; `status` other than pending marks it as run."""
    charge_id = new_id("chg")
    await sql.execute(
        "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, execute_date, "
        "billing_number, invoice_number, account_id, amount, status, next_attempt_on, claimed_at) "
        "SELECT business_id, $3, id, customer_id, 'single', $4, billing_number, $5, account_id, amount, $6, "
        "$4, CASE WHEN $6 <> 'pending' THEN now() END FROM billing WHERE business_id = $1 AND id = $2",
        business_id,
        billing_id,
        charge_id,
        day,
        invoice_number,
        status,
    )
    return charge_id
