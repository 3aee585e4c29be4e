"""The ledger's invariants (docs/ledger.md), checked by `neraca ledger verify`, the tests and the benchmarks.

1. per currency, Σ credits_posted = Σ debits_posted (and the same for the pending columns);
2. each account's four balance columns equal the sums of its transfers;
3. no negative available balance where overdraft is not allowed;
4. no reference twice: every transfer's reference is registered once for its business, and each hold
   is either pending with no resolution or resolved by exactly one transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.lib import sql


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str


PER_CURRENCY = """
SELECT currency, sum(credits_posted) AS cp, sum(debits_posted) AS dp,
       sum(credits_pending) AS cpend, sum(debits_pending) AS dpend
FROM account GROUP BY currency
HAVING sum(credits_posted) <> sum(debits_posted) OR sum(credits_pending) <> sum(debits_pending)
"""

COLUMNS_MATCH_TRANSFERS = """
WITH legs AS (
    SELECT debit_account_id AS account_id,
           CASE WHEN phase IN ('posted', 'post_pending') THEN amount ELSE 0 END AS dp, 0::bigint AS cp,
           CASE WHEN phase = 'pending' THEN amount WHEN phase = 'posted' THEN 0 ELSE -released_amount END
               AS dpend,
           0::bigint AS cpend
    FROM transfer
    UNION ALL
    SELECT credit_account_id, 0,
           CASE WHEN phase IN ('posted', 'post_pending') THEN amount ELSE 0 END, 0,
           CASE WHEN phase = 'pending' THEN amount WHEN phase = 'posted' THEN 0 ELSE -released_amount END
    FROM transfer
), sums AS (
    SELECT account_id, sum(dp) AS dp, sum(cp) AS cp, sum(dpend) AS dpend, sum(cpend) AS cpend
    FROM legs GROUP BY account_id
)
SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
       coalesce(s.dp, 0) AS dp, coalesce(s.cp, 0) AS cp, coalesce(s.dpend, 0) AS dpend,
       coalesce(s.cpend, 0) AS cpend
FROM account a LEFT JOIN sums s ON s.account_id = a.id
WHERE a.debits_posted <> coalesce(s.dp, 0) OR a.credits_posted <> coalesce(s.cp, 0)
   OR a.debits_pending <> coalesce(s.dpend, 0) OR a.credits_pending <> coalesce(s.cpend, 0)
LIMIT 100
"""

NO_OVERDRAFT = """
SELECT id, credits_posted - debits_posted - debits_pending AS available FROM account
WHERE kind <> 'system' AND credits_posted - debits_posted - debits_pending < 0 LIMIT 100
"""

CURRENCY_MATCH = """
SELECT t.id FROM transfer t
JOIN account d ON d.id = t.debit_account_id JOIN account c ON c.id = t.credit_account_id
WHERE d.currency <> t.currency OR c.currency <> t.currency
   OR d.business_id <> t.business_id OR c.business_id <> t.business_id LIMIT 100
"""

REFERENCES_REGISTERED = """
SELECT t.business_id, t.reference FROM transfer t
WHERE t.reference IS NOT NULL AND t.source_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_reference r WHERE r.business_id = t.business_id
                  AND r.reference = t.reference)
LIMIT 100
"""

REFERENCE_ONE_OBJECT = """
SELECT business_id, reference, count(DISTINCT coalesce(group_id, hold_id, id)) AS objects FROM transfer
WHERE reference IS NOT NULL AND source_id IS NULL AND phase IN ('posted', 'pending')
GROUP BY business_id, reference HAVING count(DISTINCT coalesce(group_id, hold_id, id)) > 1 LIMIT 100
"""

# business_id in the join: the index on a transfer's hold is (business_id, hold_id); joined on hold_id
# alone it is scanned whole for every hold (hours at a hundred thousand holds).
HOLDS_CONSISTENT = """
SELECT h.id, h.status, count(t.id) AS resolutions FROM hold h
LEFT JOIN transfer t ON t.business_id = h.business_id AND t.hold_id = h.id
    AND t.phase IN ('post_pending', 'void_pending')
GROUP BY h.id, h.status
HAVING (h.status = 'pending') <> (count(t.id) = 0) OR count(t.id) > 1
LIMIT 100
"""

RESOLUTIONS_MATCH_HOLDS = """
SELECT t.id FROM transfer t LEFT JOIN hold h ON h.id = t.hold_id
WHERE t.phase IN ('post_pending', 'void_pending')
  AND (h.id IS NULL OR t.released_amount <> h.amount OR t.debit_account_id <> h.debit_account_id
       OR t.credit_account_id <> h.credit_account_id)
LIMIT 100
"""


async def check_all() -> list[Violation]:
    """Every violation found (an empty list means the ledger is sound)."""
    found: list[Violation] = []
    for row in await sql.fetch(PER_CURRENCY):
        found.append(
            Violation(
                "balanced_per_currency",
                f"{row['currency']}: credits_posted {row['cp']} vs debits_posted {row['dp']}, "
                f"credits_pending {row['cpend']} vs debits_pending {row['dpend']}",
            )
        )
    for row in await sql.fetch(COLUMNS_MATCH_TRANSFERS):
        found.append(
            Violation(
                "columns_match_transfers",
                f"{row['id']}: columns ({row['debits_posted']}, {row['credits_posted']}, "
                f"{row['debits_pending']}, {row['credits_pending']}) but transfers sum to "
                f"({row['dp']}, {row['cp']}, {row['dpend']}, {row['cpend']})",
            )
        )
    for row in await sql.fetch(NO_OVERDRAFT):
        found.append(Violation("no_overdraft", f"{row['id']}: available {row['available']}"))
    for row in await sql.fetch(CURRENCY_MATCH):
        found.append(Violation("same_currency_and_business", f"transfer {row['id']}"))
    for row in await sql.fetch(REFERENCES_REGISTERED):
        found.append(Violation("reference_registered", f"{row['business_id']}: {row['reference']!r}"))
    for row in await sql.fetch(REFERENCE_ONE_OBJECT):
        found.append(
            Violation(
                "reference_unique", f"{row['business_id']}: {row['reference']!r} on {row['objects']} objects"
            )
        )
    for row in await sql.fetch(HOLDS_CONSISTENT):
        found.append(
            Violation(
                "hold_resolution",
                f"hold {row['id']} is {row['status']} with {row['resolutions']} resolutions",
            )
        )
    for row in await sql.fetch(RESOLUTIONS_MATCH_HOLDS):
        found.append(Violation("hold_resolution", f"transfer {row['id']} does not match its hold"))
    return found
