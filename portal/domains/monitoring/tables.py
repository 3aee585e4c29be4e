"""Piccolo mirrors of the monitoring tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, Array, BigInt, Boolean, Text, Timestamptz, Varchar
from piccolo.table import Table


class MonitoringRule(Table, tablename="monitoring_rule"):
    business_id = Text()
    id = Text(primary_key=True)
    kind = Text()
    name = Text()
    params = JSONB()
    severity = Text()
    action = Text()
    enabled = Boolean()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class MonitoringSettings(Table, tablename="monitoring_settings"):
    business_id = Text(primary_key=True)
    recipients = Array(base_column=Text())
    updated_at = Timestamptz()


class MonitoringAlert(Table, tablename="monitoring_alert"):
    business_id = Text()
    id = Text(primary_key=True)
    rule_id = Text(null=True)
    rule_kind = Text()
    rule_name = Text()
    severity = Text()
    action = Text()
    status = Text()
    account_id = Text(null=True)
    object_kind = Text(null=True)
    object_id = Text(null=True)
    amount = BigInt(null=True)
    currency = Varchar(length=3, null=True)
    summary = Text()
    evidence = JSONB()
    assignee_id = Text(null=True)
    resolution = Text(null=True)
    created_at = Timestamptz()
    acknowledged_at = Timestamptz(null=True)
    acknowledged_by = Text(null=True)
    resolved_at = Timestamptz(null=True)
    resolved_by = Text(null=True)


class MonitoringAlertNote(Table, tablename="monitoring_alert_note"):
    business_id = Text()
    id = Text(primary_key=True)
    alert_id = Text()
    author_id = Text(null=True)
    author_name = Text()
    body = Text()
    created_at = Timestamptz()


class MonitoringCursor(Table, tablename="monitoring_cursor"):
    business_id = Text(primary_key=True)
    last_sequence = BigInt()
    updated_at = Timestamptz()


class SettlementHold(Table, tablename="settlement_hold"):
    business_id = Text()
    id = Text(primary_key=True)
    account_id = Text()
    alert_id = Text(null=True)
    reason = Text()
    held_at = Timestamptz()
    held_by = Text()
    released_at = Timestamptz(null=True)
    released_by = Text(null=True)
