"""Piccolo mirrors of the reports tables (the SQL in piccolo_migrations is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Boolean, Date, Integer, Text, Timestamptz
from piccolo.table import Table


class ReportExport(Table, tablename="report_export"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    include_descendants = Boolean()
    period_start = Date()
    period_end = Date()
    format = Text()
    language = Text()
    status = Text()
    progress_done = BigInt()
    progress_total = BigInt()
    file_name = Text(null=True)
    file_size = BigInt(null=True)
    error = Text(null=True)
    requested_by_user_id = Text(null=True)
    requested_by_key_id = Text(null=True)
    requested_by_name = Text()
    scope_account_id = Text(null=True)
    schedule_id = Text(null=True)
    generated_at = Timestamptz(null=True)
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True)


class ReportSchedule(Table, tablename="report_schedule"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    include_descendants = Boolean()
    frequency = Text()
    format = Text()
    email = Text()
    language = Text()
    active = Boolean()
    next_period_start = Date()
    created_by_user_id = Text(null=True)
    created_by_name = Text()
    scope_account_id = Text(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ReportScheduleRun(Table, tablename="report_schedule_run"):
    schedule_id = Text()
    period_start = Date()
    period_end = Date()
    export_id = Text()
    created_at = Timestamptz()


class StatementDayTotal(Table, tablename="statement_day_total"):
    account_id = Text()
    business_id = Text()
    day = Date()
    debits = BigInt()
    credits = BigInt()
    entries = BigInt()


class StatementRollupWatermark(Table, tablename="statement_rollup_watermark"):
    id = Boolean(primary_key=True)
    complete_before = Date()
    updated_at = Timestamptz()


class ReportDefinition(Table, tablename="report_definition"):
    business_id = Text()
    id = Text(primary_key=True)
    name = Text()
    spec = JSONB()
    created_by = Text()
    created_at = Timestamptz()
    updated_at = Timestamptz()
    schedule = JSONB(null=True)
    schedule_next_at = Timestamptz(null=True)
    schedule_scope_account_id = Text(null=True)
    schedule_set_by = Text(null=True)


class ReportDelivery(Table, tablename="report_delivery"):
    business_id = Text()
    report_id = Text()
    occurrence = Timestamptz()
    recipients = Integer()
    file_name = Text()
    created_at = Timestamptz()
