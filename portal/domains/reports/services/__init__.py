"""Account statements: computation, streaming exports, background exports, schedules.

A statement covers whole WIB calendar days `start`..`end` (both inclusive) of one account or of a
subtree roll-up (the root and every descendant in the root's currency; each line names its account).
Its entries are the posted sides of transfers booked in the period, in `(created_at, seq, side)` order (see
`sql.py`); pending holds are not entries (they do not move the booked balance) until they are posted.

    opening  = posted balance at 00:00 WIB of `start`
    closing  = opening + credits - debits = posted balance at 00:00 WIB of the day after `end`

All figures of one statement are read in one REPEATABLE READ, READ ONLY transaction (one snapshot), and
the entries are streamed from a server-side cursor in batches, so a 1,000,000-entry statement is never
held in memory. Generation time is passed in (`generated_at`): it is the only field that differs when
the same period is produced again.

One module per aggregate, re-exported here so callers import `portal.domains.reports.services`:
`periods` (days, period kinds, validation), `snapshot` (the request and its one read snapshot), `pages`
(JSON/HTML pages with signed cursors), `streaming` (files and downloads), `exports` (background jobs).
"""

from portal.domains.accounts import services as accounts
from portal.domains.reports.services.exports import (
    EXPORT_COLUMNS,
    IMMEDIATE_LIMITS,
    ExportJob,
    export_file,
    export_path,
    get_export,
    insert_export,
    list_exports,
    run_export,
    start_export,
    use_background,
)
from portal.domains.reports.services.pages import (
    PAGE_DEFAULT,
    PAGE_MAX,
    StatementPage,
    decode_page_cursor,
    encode_page_cursor,
    statement_page,
    validate_limit,
)
from portal.domains.reports.services.periods import (
    FILE_FORMATS,
    MAX_FILE_DAYS,
    STATEMENT_FORMATS,
    STREAMING_FORMATS,
    period_bounds,
    today_wib,
    validate_format,
    validate_period,
    wib_midnight,
)
from portal.domains.reports.services.presentation import ShownLine, Totals, shown_lines, subtree_totals
from portal.domains.reports.services.snapshot import (
    FETCH_BATCH,
    PeriodTotals,
    Snapshot,
    StatementRequest,
    _period_totals,
    resolve,
    scanned_period_totals,
    snapshot,
    statement_header,
)
from portal.domains.reports.services.streaming import (
    CHUNK_BYTES,
    CrlfRows,
    Download,
    audit_export,
    check_size,
    content_disposition,
    csv_fast_chunks,
    exports_root,
    file_name,
    open_download,
    reference_chunks,
    stream_chunks,
    write_file,
)
from portal.lib.timefmt import WIB

__all__ = [
    "CHUNK_BYTES",
    "EXPORT_COLUMNS",
    "FETCH_BATCH",
    "FILE_FORMATS",
    "IMMEDIATE_LIMITS",
    "MAX_FILE_DAYS",
    "PAGE_DEFAULT",
    "PAGE_MAX",
    "STATEMENT_FORMATS",
    "STREAMING_FORMATS",
    "WIB",
    "CrlfRows",
    "Download",
    "ExportJob",
    "PeriodTotals",
    "ShownLine",
    "Snapshot",
    "StatementPage",
    "StatementRequest",
    "Totals",
    "_period_totals",
    "accounts",
    "audit_export",
    "check_size",
    "content_disposition",
    "csv_fast_chunks",
    "decode_page_cursor",
    "encode_page_cursor",
    "export_file",
    "export_path",
    "exports_root",
    "file_name",
    "get_export",
    "insert_export",
    "list_exports",
    "open_download",
    "period_bounds",
    "reference_chunks",
    "resolve",
    "run_export",
    "scanned_period_totals",
    "shown_lines",
    "snapshot",
    "start_export",
    "statement_header",
    "statement_page",
    "stream_chunks",
    "subtree_totals",
    "today_wib",
    "use_background",
    "validate_format",
    "validate_limit",
    "validate_period",
    "wib_midnight",
    "write_file",
]
