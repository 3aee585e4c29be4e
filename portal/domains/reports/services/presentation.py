"""How a statement reads on screen: internal transfers of a roll-up shown once, totals of what came in
from and went out to outside the subtree, counterparts named in words ("Bank transfer in", "Fee")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.domains.reports import sql as q
from portal.domains.reports.formats import StatementLine
from portal.domains.reports.services.snapshot import StatementRequest
from portal.lib import sql
from portal.lib.i18n import gettext

SUBTREE_TOTALS = f"""
SELECT coalesce(sum(t.amount) FILTER (WHERE t.credit_account_id = ANY($1::text[])
    AND NOT t.debit_account_id = ANY($1::text[])), 0)::bigint AS external_in,
       coalesce(sum(t.amount) FILTER (WHERE t.debit_account_id = ANY($1::text[])
    AND NOT t.credit_account_id = ANY($1::text[])), 0)::bigint AS external_out,
       coalesce(sum(t.amount) FILTER (WHERE t.debit_account_id = ANY($1::text[])
    AND t.credit_account_id = ANY($1::text[])), 0)::bigint AS internal,
       count(*) FILTER (WHERE t.debit_account_id = ANY($1::text[])
    AND t.credit_account_id = ANY($1::text[])) AS internal_count
FROM transfer t
WHERE t.business_id = $4 AND (t.debit_account_id = ANY($1::text[]) OR t.credit_account_id = ANY($1::text[]))
  AND {q.POSTED} AND t.created_at >= $2 AND t.created_at < $3
"""


@dataclass(frozen=True)
class Totals:
    """What came in from and went out to outside the statement's accounts, and what moved inside."""

    external_in: int
    external_out: int
    internal: int
    internal_count: int


async def subtree_totals(r: StatementRequest) -> Totals:
    """External in/out and internal totals of the statement's period (a roll-up's internal transfers
    net to zero and are left out of the external totals)."""
    row = await sql.fetchrow(SUBTREE_TOTALS, list(r.account_ids), r.start_at, r.end_at, r.account.business_id)
    assert row is not None
    return Totals(
        int(row["external_in"]), int(row["external_out"]), int(row["internal"]), int(row["internal_count"])
    )


@dataclass(frozen=True)
class ShownLine:
    """A statement line as shown: an internal transfer of a roll-up is one row (from → to)."""

    line: StatementLine
    internal: bool
    account_name: str
    counterpart: str
    debit: int | None
    credit: int | None
    amount: int | None
    running_balance: int


def _counterpart(line: StatementLine, roles: dict[str, str]) -> str:
    role = roles.get(line.counterpart_account_id)
    if role == "world":
        return gettext("Bank transfer in") if line.credit else gettext("Bank transfer out")
    if role == "fees":
        return gettext("Fee")
    if role == "clearing":
        return gettext("Clearing")
    return line.counterpart_name or line.counterpart_account_id


async def shown_lines(r: StatementRequest, lines: list[StatementLine]) -> list[ShownLine]:
    """The page's lines for people: system counterparts in words; on a roll-up, the two sides of a
    transfer between its own accounts (adjacent: debit side, then credit side) merged into one row."""
    ids = {x.counterpart_account_id for x in lines}
    rows = await sql.fetch(
        "SELECT id, system_role FROM account WHERE business_id = $1 AND id = ANY($2::text[]) "
        "AND kind = 'system'",
        r.account.business_id,
        list(ids),
    )
    roles = {x["id"]: x["system_role"] for x in rows}
    inside = set(r.account_ids) if r.include_descendants else set()
    out: list[ShownLine] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        internal = line.counterpart_account_id in inside
        pair: Any = lines[i + 1] if i + 1 < len(lines) else None
        if internal and line.debit and pair is not None and pair.transaction_id == line.transaction_id:
            out.append(
                ShownLine(
                    line,
                    True,
                    line.account_name,
                    pair.account_name,
                    None,
                    None,
                    line.debit,
                    pair.running_balance,
                )
            )
            i += 2
            continue
        out.append(
            ShownLine(
                line,
                internal,
                line.account_name,
                _counterpart(line, roles),
                line.debit or None,
                line.credit or None,
                None,
                line.running_balance,
            )
        )
        i += 1
    return out
