"""SQL of account statements (kept beside the service, never in controllers).

A statement entry is one side of a posted transfer (`phase IN ('posted', 'post_pending')`: pending holds
and voids do not move the booked balance). A transfer between two accounts of the same roll-up gives
two entries: the debit side first, then the credit side (`side` 0 and 1), both at the transfer's `seq`.
Entries are in date order, `(created_at, seq, side)` — history imported with its own booking time has
a later `seq` than its date — which never changes once written, so a statement regenerated later lists
the same entries in the same order.

`$1` is the text[] of the statement's accounts, `$2`/`$3` the period as [start, end) instants.

Files of a roll-up net its internal transfers (`net=True`): a transfer between two of its accounts is
one entry, its debit side marked `internal` (moving the roll-up's balance by nothing), and its credit
side is left out.
"""

from __future__ import annotations

POSTED = "t.phase IN ('posted', 'post_pending')"

# Posted balance now of the statement's accounts (the ledger keeps these columns equal to the sums of
# the transfers: one of the ledger invariants, docs/ledger.md).
POSTED_NOW = """
SELECT coalesce(sum(credits_posted - debits_posted), 0)::bigint FROM account WHERE id = ANY($1::text[])
"""

# Entries from the period start on: the period's count and totals, and the net movement after it.
# opening = posted now - period net - after-period net; closing = opening + period net.
TOTALS_FROM_START = f"""
WITH legs AS (
    SELECT t.created_at, t.amount AS debit, 0::bigint AS credit FROM transfer t
    WHERE t.debit_account_id = ANY($1::text[]) AND {POSTED} AND t.created_at >= $2
    UNION ALL
    SELECT t.created_at, 0::bigint, t.amount FROM transfer t
    WHERE t.credit_account_id = ANY($1::text[]) AND {POSTED} AND t.created_at >= $2
)
SELECT count(*) FILTER (WHERE created_at < $3) AS entries,
       coalesce(sum(debit) FILTER (WHERE created_at < $3), 0)::bigint AS debits,
       coalesce(sum(credit) FILTER (WHERE created_at < $3), 0)::bigint AS credits,
       coalesce(sum(credit - debit) FILTER (WHERE created_at >= $3), 0)::bigint AS after_net
FROM legs
"""


# The same figures from the rollup (`statement_day_total`, see rollup.py) for the closed WIB days
# [$2, watermark): `$2` is the period's first day, `$3` the day after its last. Returns the watermark too
# (NULL: nothing is rolled up, every figure comes from the scan).
ROLLED_UP_FROM_START = """
WITH w AS (SELECT complete_before FROM statement_rollup_watermark WHERE id)
SELECT (SELECT complete_before FROM w) AS complete_before,
       coalesce(sum(d.entries) FILTER (WHERE d.day < $3), 0)::bigint AS entries,
       coalesce(sum(d.debits) FILTER (WHERE d.day < $3), 0)::bigint AS debits,
       coalesce(sum(d.credits) FILTER (WHERE d.day < $3), 0)::bigint AS credits,
       coalesce(sum(d.credits - d.debits) FILTER (WHERE d.day >= $3), 0)::bigint AS after_net
FROM statement_day_total d
WHERE d.account_id = ANY($1::text[]) AND d.day >= $2 AND d.day < (SELECT complete_before FROM w)
"""


def entries_query(*, after: bool = False, limit: bool = False, net: bool = False) -> str:
    """The period's entries in booking-time order, `(created_at, seq, side)`; `after` adds
    `(created_at, seq, side) > ($4, $5, $6)`, `limit` a `LIMIT $7` (or `$4` without `after`); `net`
    gives each entry `internal` and lists a transfer between two of the accounts once (its debit side)."""
    keyset_debit = keyset_credit = ""
    if after:
        # Within one transfer the debit side (0) comes before the credit side (1).
        keyset_debit = " AND (t.created_at, t.seq) > ($4, $5)"
        keyset_credit = (
            " AND ((t.created_at, t.seq) > ($4, $5) OR (t.created_at = $4 AND t.seq = $5 AND $6 < 1))"
        )
    tail = ""
    if limit:
        tail = f" LIMIT ${7 if after else 4}"
    internal = internal_debit = internal_credit = only_external = ""
    if net:
        internal = ", internal"
        internal_debit = ", t.credit_account_id = ANY($1::text[]) AS internal"
        internal_credit = ", false"
        only_external = " AND NOT t.debit_account_id = ANY($1::text[])"
    return f"""
SELECT seq, side, id, created_at, reference, description, kind, amount, account_id, counterpart_id{internal}
FROM (
    SELECT t.seq, 0 AS side, t.id, t.created_at, t.reference, t.description, t.kind, t.amount,
           t.debit_account_id AS account_id, t.credit_account_id AS counterpart_id{internal_debit}
    FROM transfer t
    WHERE t.debit_account_id = ANY($1::text[]) AND {POSTED} AND t.created_at >= $2 AND t.created_at < $3
          {keyset_debit}
    UNION ALL
    SELECT t.seq, 1 AS side, t.id, t.created_at, t.reference, t.description, t.kind, t.amount,
           t.credit_account_id, t.debit_account_id{internal_credit}
    FROM transfer t
    WHERE t.credit_account_id = ANY($1::text[]) AND {POSTED} AND t.created_at >= $2 AND t.created_at < $3
          {keyset_credit}{only_external}
) AS e
ORDER BY created_at, seq, side{tail}
"""


# --- the CSV fast path: PostgreSQL formats the entry rows (COPY … TO STDOUT (FORMAT csv)) -------------
# Cell by cell the same text as formats/csv_format.py `csv_line_row` (escape.escape_text for text,
# model.format_plain for amounts, model.wib_text for times). Empty text is sent as NULL, which COPY
# writes as an empty unquoted cell (an empty string would be written `""`); COPY quotes a cell exactly
# when it holds a comma, a double quote, CR or LF, as Python's csv.QUOTE_MINIMAL does. COPY ends rows
# with LF; services.CrlfRows turns those (not the LFs inside quoted cells) into CRLF.

# Code points of escape.FORMULA_PREFIXES (= + - @ TAB CR), compared with `ascii()` of the first
# character: an integer comparison, much cheaper per cell than comparing text.
_FORMULA_FIRST = ", ".join(str(ord(c)) for c in "=+-@\t\r")


def csv_text(expr: str) -> str:
    """`escape_text(expr)`, with "" as NULL."""
    quote = "''''"
    return f"nullif(CASE WHEN ascii({expr}) IN ({_FORMULA_FIRST}) THEN {quote} || {expr} ELSE {expr} END, '')"


def csv_amount(expr: str, exponent: int) -> str:
    """`format_plain(expr, currency)` for a currency with `exponent` decimals (0 or 2)."""
    if exponent == 0:
        return f"({expr})::bigint::text"
    return f"round(({expr})::numeric / {10**exponent}, {exponent})::text"


def csv_rows_query(exponent: int, *, net: bool = False) -> str:
    """The entry rows of the CSV statement, in (created_at, seq, side) order, as `csv_line_row` writes them.
    `$1`..`$3` as for `entries_query`, `$4` the opening balance, `$5` the business; `net`: a roll-up's
    internal transfers once, with the Internal cell (`csv_line_row(netted=True)`).

    Account names come from one map of the business's accounts built once per statement (a jsonb
    object: a binary search per cell instead of two index lookups per row); an account of another
    business, which the ledger never pairs, would still be looked up."""
    moved = "CASE WHEN e.side = 0 THEN -e.amount ELSE e.amount END"
    debit = f"CASE WHEN e.side = 0 THEN {csv_amount('e.amount', exponent)} END"
    internal_cell = ""
    if net:
        moved = "CASE WHEN e.internal THEN 0 WHEN e.side = 0 THEN -e.amount ELSE e.amount END"
        debit = f"CASE WHEN e.side = 0 AND NOT e.internal THEN {csv_amount('e.amount', exponent)} END"
        internal_cell = f"\n       CASE WHEN e.internal THEN {csv_amount('e.amount', exponent)} END,"
    balance = (
        f"$4::bigint + sum({moved}) OVER (ORDER BY e.created_at, e.seq, e.side ROWS UNBOUNDED PRECEDING)"
    )
    return f"""
SELECT to_char(e.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD HH24:MI:SS'),
       {csv_text("e.id")}, {csv_text("e.reference")}, {csv_text("e.description")},
       {csv_text("e.account_id")}, {csv_text("e.account_name")}, {csv_text("e.counterpart_id")},
       {csv_text("e.counterpart_name")},
       {debit},
       CASE WHEN e.side = 1 THEN {csv_amount("e.amount", exponent)} END,{internal_cell}
       {csv_amount("e.balance", exponent)},
       {csv_text("e.kind")}
FROM (
    -- a subquery with a window function is never flattened: each name is looked up once per row
    SELECT e.*, {balance} AS balance,
           {_name("e.account_id")} AS account_name, {_name("e.counterpart_id")} AS counterpart_name
    FROM ({entries_query(net=net)}) AS e
) AS e
ORDER BY e.created_at, e.seq, e.side
"""


_NAMES = "(SELECT jsonb_object_agg(a.id, a.name) FROM account a WHERE a.business_id = $5)"


def _name(expr: str) -> str:
    return f"coalesce({_NAMES} ->> {expr}, (SELECT a.name FROM account a WHERE a.id = {expr}))"


ACCOUNT_NAMES = "SELECT id, name FROM account WHERE id = ANY($1::text[])"

SUBTREE_ACCOUNTS = """
SELECT id, name, currency FROM account
WHERE business_id = $1 AND path LIKE $2 AND kind <> 'system'
ORDER BY depth, id
"""

# What moved between the roll-up's own accounts in the period: the internal transfers a netted file
# lists once.
INTERNAL_TOTALS = f"""
SELECT coalesce(sum(t.amount), 0)::bigint AS total, count(*) AS n FROM transfer t
WHERE t.business_id = $4 AND t.debit_account_id = ANY($1::text[]) AND t.credit_account_id = ANY($1::text[])
  AND {POSTED} AND t.created_at >= $2 AND t.created_at < $3
"""
