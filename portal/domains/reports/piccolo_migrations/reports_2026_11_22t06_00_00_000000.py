from portal.db.sql_migration import sql_migration

ID = "2026-11-22T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: statement export jobs with progress, statement schedules and their runs"

SQL = r"""
-- A statement file produced in the background (large periods, PDFs, scheduled statements). The file
-- lives under NERACA_DATA_DIR/exports/<business_id>/; `progress_done` / `progress_total` are entries.
CREATE TABLE report_export (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    account_id text NOT NULL REFERENCES account (id),
    include_descendants boolean NOT NULL DEFAULT false,
    period_start date NOT NULL,
    period_end date NOT NULL,
    format text NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf', 'mt940', 'camt053')),
    language text NOT NULL DEFAULT 'en',
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress_done bigint NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total bigint NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    file_name text,
    file_size bigint,
    error text,
    requested_by_user_id text,
    requested_by_key_id text,
    requested_by_name text NOT NULL DEFAULT '',
    scope_account_id text,
    schedule_id text,
    generated_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT report_export_period CHECK (period_end >= period_start),
    CONSTRAINT report_export_done_has_file CHECK (status <> 'done' OR (file_name IS NOT NULL AND file_size IS NOT NULL))
);
CREATE INDEX report_export_business ON report_export (business_id, created_at DESC, id DESC);

-- "E-mail me the statement of this account every day / week / month."
CREATE TABLE report_schedule (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    account_id text NOT NULL REFERENCES account (id),
    include_descendants boolean NOT NULL DEFAULT false,
    frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
    format text NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf', 'mt940', 'camt053')),
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    language text NOT NULL DEFAULT 'en',
    active boolean NOT NULL DEFAULT true,
    -- the first day of the next period to deliver (its statement is due once the period has ended)
    next_period_start date NOT NULL,
    created_by_user_id text,
    created_by_name text NOT NULL DEFAULT '',
    scope_account_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_schedule_business ON report_schedule (business_id, created_at DESC);
CREATE INDEX report_schedule_due ON report_schedule (next_period_start) WHERE active;

-- One row per delivered period: the primary key makes each due statement happen exactly once, however
-- many workers race for it.
CREATE TABLE report_schedule_run (
    schedule_id text NOT NULL REFERENCES report_schedule (id) ON DELETE CASCADE,
    period_start date NOT NULL,
    period_end date NOT NULL,
    export_id text NOT NULL REFERENCES report_export (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, period_start)
);
"""


async def forwards():
    return sql_migration(ID, "reports", DESCRIPTION, SQL)
