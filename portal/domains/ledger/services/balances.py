"""Balances now and as they stood at a past time (recomputed from the immutable transfers)."""

from __future__ import annotations

from datetime import datetime

from portal.domains.accounts import services as accounts
from portal.domains.accounts.schemas import BalanceOut
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext

BALANCE_AS_OF_SQL = """
SELECT
  coalesce(sum(amount) FILTER (WHERE debit_account_id = $1 AND phase IN ('posted', 'post_pending')), 0)
    AS debits_posted,
  coalesce(sum(amount) FILTER (WHERE credit_account_id = $1 AND phase IN ('posted', 'post_pending')), 0)
    AS credits_posted,
  coalesce(sum(CASE WHEN phase = 'pending' THEN amount ELSE -released_amount END)
           FILTER (WHERE debit_account_id = $1), 0) AS debits_pending,
  coalesce(sum(CASE WHEN phase = 'pending' THEN amount ELSE -released_amount END)
           FILTER (WHERE credit_account_id = $1), 0) AS credits_pending
FROM transfer
WHERE (debit_account_id = $1 OR credit_account_id = $1) AND created_at <= $2
"""


async def balance(actor: Actor, account_id: str, *, as_of: datetime | None = None) -> BalanceOut:
    """The account's balance now, or as it stood at `as_of` (recomputed from the immutable transfers)."""
    actor.require("accounts", "view")
    account = await accounts.get_account_row(actor, account_id)
    if as_of is None:
        return account.balance()
    if as_of.tzinfo is None:
        raise ValidationFailed(
            gettext("as_of needs a time zone (e.g. 2026-11-22T04:00:00Z)."),
            errors=[FieldError("as_of", gettext("time zone required"))],
        )
    row = await sql.fetchrow(BALANCE_AS_OF_SQL, account.id, as_of)
    assert row is not None
    debits_posted, credits_posted, debits_pending, credits_pending = (
        int(row[k]) for k in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    )
    return BalanceOut(
        account_id=account.id,
        currency=account.currency,
        available=credits_posted - debits_posted - debits_pending,
        posted=credits_posted - debits_posted,
        pending_in=credits_pending,
        on_hold=debits_pending,
        as_of=as_of,
    )
