"""API shapes of statements (docs/api-contract.md: StatementEntry and the JSON statement page)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from portal.domains.reports.formats import StatementLine


class StatementEntry(msgspec.Struct, kw_only=True):
    object: Literal["statement_entry"] = "statement_entry"
    booked_at: datetime
    transaction_id: str
    reference: str | None
    description: str | None
    account_id: str
    counterpart_account_id: str | None
    debit: int
    credit: int
    running_balance: int
    kind: str


class StatementPeriod(msgspec.Struct, kw_only=True):
    start: date
    end: date


class StatementPage(msgspec.Struct, kw_only=True):
    object: Literal["statement"] = "statement"
    account_id: str
    include_descendants: bool
    data: list[StatementEntry]
    has_more: bool
    next_cursor: str | None
    opening_balance: int
    closing_balance: int
    total_debits: int
    total_credits: int
    entry_count: int
    currency: str
    period: StatementPeriod
    time_zone: str = "Asia/Jakarta"


def entry_out(line: StatementLine) -> StatementEntry:
    return StatementEntry(
        booked_at=line.booked_at,
        transaction_id=line.transaction_id,
        reference=line.reference or None,
        description=line.description or None,
        account_id=line.account_id,
        counterpart_account_id=line.counterpart_account_id or None,
        debit=line.debit,
        credit=line.credit,
        running_balance=line.running_balance,
        kind=line.kind,
    )


class ReportSpec(msgspec.Struct, forbid_unknown_fields=True):
    """A custom report: a dataset, its columns, filters, grouping and sort (docs/reports.md)."""

    dataset: str
    columns: list[str] = msgspec.field(default_factory=list)
    filters: list[dict[str, Any]] = msgspec.field(default_factory=list)
    group_by: list[str] = msgspec.field(default_factory=list)
    sort: list[dict[str, Any]] = msgspec.field(default_factory=list)
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class ReportScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    """E-mail a saved report: daily, weekly (on `weekday`, 0 = Monday) or monthly (on `day`, 1-28) at
    `time` (HH:MM WIB), as CSV or XLSX, to the business's users with the reports right."""

    frequency: str
    time: str = "07:00"
    weekday: int | None = None
    day: int | None = None
    format: str = "csv"


class ReportSave(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    spec: ReportSpec
    schedule: ReportScheduleIn | None = None


class ReportScheduleSet(msgspec.Struct, forbid_unknown_fields=True):
    schedule: ReportScheduleIn | None


class ReportRunIn(msgspec.Struct, forbid_unknown_fields=True):
    spec: ReportSpec
    page: int = 1


class ReportOut(msgspec.Struct):
    id: str
    name: str
    spec: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime
    schedule: dict[str, Any] | None = None
    schedule_next_at: datetime | None = None
    object: str = "report"


class ReportList(msgspec.Struct):
    data: list[ReportOut]


class ReportColumnOut(msgspec.Struct):
    name: str
    label: str
    type: str


class ReportRows(msgspec.Struct):
    columns: list[ReportColumnOut]
    rows: list[list[Any]]
    page: int
    has_more: bool
    totals: dict[str, int]
    row_count: int
    object: str = "report_rows"
