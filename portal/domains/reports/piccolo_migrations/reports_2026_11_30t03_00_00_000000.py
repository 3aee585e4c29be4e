from portal.db.sql_migration import sql_migration

ID = "2026-11-30T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: a saved custom report's e-mail schedule and one delivery row per occurrence"

SQL = r"""
-- `schedule` = {"frequency", "time" (HH:MM WIB), "weekday" (0 = Monday, weekly), "day" (1-28, monthly),
-- "format"}; `schedule_next_at` is its next occurrence. The report runs in the scope of whoever set it.
ALTER TABLE report_definition
    ADD COLUMN schedule jsonb,
    ADD COLUMN schedule_next_at timestamptz,
    ADD COLUMN schedule_scope_account_id text,
    ADD COLUMN schedule_set_by text;
CREATE INDEX report_definition_due ON report_definition (schedule_next_at) WHERE schedule_next_at IS NOT NULL;

-- The claim of one occurrence: its primary key makes each occurrence's e-mails go exactly once.
CREATE TABLE report_delivery (
    business_id text NOT NULL,
    report_id text NOT NULL,
    occurrence timestamptz NOT NULL,
    recipients integer NOT NULL,
    file_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, report_id, occurrence),
    FOREIGN KEY (business_id, report_id) REFERENCES report_definition (business_id, id) ON DELETE CASCADE
);
"""


async def forwards():
    return sql_migration(ID, "reports", DESCRIPTION, SQL)
