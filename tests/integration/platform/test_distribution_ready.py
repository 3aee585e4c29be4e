"""The schema is ready to be distributed on `business_id` (Citus), see docs/operations.md.

Citus needs: every distributed table carries the distribution column; every unique index and primary
key includes it; every foreign key between distributed tables includes it. Reference data (`ref_*`
tables and the few documented below) is replicated to every node instead, so it needs none of that.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portal.lib.sql import fetch

PORTAL = Path(__file__).resolve().parents[3] / "portal"

# Tables that are not per-business: replicated as reference tables, or kept on the coordinator.
# Each entry says why; a new table belongs here only with a reason of the same kind.
NOT_DISTRIBUTED: dict[str, str] = {
    "migration": "Piccolo's migration bookkeeping: one copy, kept on the coordinator.",
    "pgqueuer": "the job queue (SKIP LOCKED, LISTEN/NOTIFY): kept on the coordinator.",
    "pgqueuer_log": "the job queue's log: kept on the coordinator.",
    "pgqueuer_schedules": "the job queue's schedules: kept on the coordinator.",
    "pgqueuer_statistics": "the job queue's statistics: kept on the coordinator.",
    "system_setting": "instance-wide settings: a reference table.",
    "rate_limit": "per-client counters keyed by bucket, not per business: kept on the coordinator.",
    "business": "the tenant itself: distributed on its own id (business.id is the business_id).",
    "payout_calendar_override": "the operator's business-day overrides, the same for every business: a "
    "reference table.",
}

# Known gaps: what the move to Citus must change first (docs/operations.md, "Moving to Citus"). The tests
# fail on any new gap and on a listed gap that was fixed (remove it from the list then).
TABLES_WITHOUT_BUSINESS_ID: frozenset[str] = frozenset(
    {
        "activity_chain_head",
        "api_request",
        "login_failure",
        "notification_read",
        "recovery_code",
        "report_schedule_run",
        "statement_rollup_watermark",
    }
)
UNIQUE_WITHOUT_BUSINESS_ID: frozenset[str] = frozenset(
    {
        "account.account_pkey(id)",
        "activity.activity_chain_seq_key(chain, seq)",
        "activity.activity_pkey(id)",
        "activity_chain_head.activity_chain_head_pkey(chain)",
        "api_key.api_key_client_id_key(client_id)",
        "api_key.api_key_pkey(id)",
        "api_request.api_request_pkey(api_key_id, request_id)",
        "app_user.app_user_pkey(id)",
        "app_user.app_user_username_key()",
        "beneficiary.beneficiary_one_default(account_id)",
        "beneficiary.beneficiary_pkey(id)",
        "beneficiary.beneficiary_unique_destination(account_id, account_number, kind)",
        "email_outbox.email_outbox_pkey(id)",
        "event.event_pkey(id)",
        "hold.hold_pkey(id)",
        "hold.hold_transfer_id_key(transfer_id)",
        "login_failure.login_failure_pkey(id)",
        "notification.notification_pkey(id)",
        "notification.notification_seq_key(seq)",
        "notification_read.notification_read_pkey(notification_id, user_id)",
        "provider_event.provider_event_pkey(event_id)",
        "provider_mismatch.provider_mismatch_pkey(id)",
        "provider_payin.provider_payin_pkey(payin_id)",
        "provider_payin.provider_payin_source_kind_source_id_key(source_id, source_kind)",
        "provider_reconciliation.provider_reconciliation_pkey(id)",
        "provider_request.provider_request_pkey(external_id)",
        "recovery_code.recovery_code_pkey(id)",
        "report_export.report_export_pkey(id)",
        "report_schedule.report_schedule_pkey(id)",
        "report_schedule_run.report_schedule_run_pkey(period_start, schedule_id)",
        "statement_day_total.statement_day_total_pkey(account_id, day)",
        "statement_rollup_watermark.statement_rollup_watermark_pkey(id)",
        "topup.topup_pkey(id)",
        "transfer.transfer_pkey(id)",
        "user_token.user_token_pkey(token_hash)",
        "web_session.web_session_pkey(id)",
        "web_session.web_session_public_id_key(public_id)",
        "webhook_attempt.webhook_attempt_pkey(id)",
        "webhook_delivery.webhook_delivery_pkey(endpoint_id, event_id)",
        "webhook_endpoint.webhook_endpoint_pkey(id)",
        "withdrawal.withdrawal_pkey(id)",
    }
)
FOREIGN_KEYS_WITHOUT_BUSINESS_ID: frozenset[str] = frozenset(
    {
        "account.account_parent_id_fkey(parent_id) -> account",
        "api_request.api_request_api_key_id_fkey(api_key_id) -> api_key",
        "beneficiary.beneficiary_account_id_fkey(account_id) -> account",
        "hold.hold_credit_account_id_fkey(credit_account_id) -> account",
        "hold.hold_debit_account_id_fkey(debit_account_id) -> account",
        "hold.hold_resolution_transfer_id_fkey(resolution_transfer_id) -> transfer",
        "hold.hold_transfer_id_fkey(transfer_id) -> transfer",
        "login_failure.login_failure_user_id_fkey(user_id) -> app_user",
        "notification.notification_account_id_fkey(account_id) -> account",
        "notification_read.notification_read_notification_id_fkey(notification_id) -> notification",
        "provider_mismatch.provider_mismatch_run_id_fkey(run_id) -> provider_reconciliation",
        "recovery_code.recovery_code_user_id_fkey(user_id) -> app_user",
        "report_export.report_export_account_id_fkey(account_id) -> account",
        "report_schedule.report_schedule_account_id_fkey(account_id) -> account",
        "report_schedule_run.report_schedule_run_export_id_fkey(export_id) -> report_export",
        "report_schedule_run.report_schedule_run_schedule_id_fkey(schedule_id) -> report_schedule",
        "topup.topup_account_id_fkey(account_id) -> account",
        "user_token.user_token_user_id_fkey(user_id) -> app_user",
        "web_session.web_session_user_id_fkey(user_id) -> app_user",
        "webhook_attempt.webhook_attempt_event_id_endpoint_id_fkey(endpoint_id, event_id) -> webhook_delivery",  # noqa: E501
        "webhook_delivery.webhook_delivery_endpoint_id_fkey(endpoint_id) -> webhook_endpoint",
        "webhook_delivery.webhook_delivery_event_id_fkey(event_id) -> event",
        "withdrawal.withdrawal_account_id_fkey(account_id) -> account",
        "withdrawal.withdrawal_amount_hold_id_fkey(amount_hold_id) -> hold",
        "withdrawal.withdrawal_fee_hold_id_fkey(fee_hold_id) -> hold",
    }
)


async def _tables() -> list[str]:
    rows = await fetch(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1
        """
    )
    return [row["relname"] for row in rows]


def _distributed(table: str) -> bool:
    return not table.startswith("ref_") and table not in NOT_DISTRIBUTED


@pytest.mark.asyncio
async def test_every_distributed_table_carries_business_id(database: str) -> None:
    rows = await fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'business_id'"
    )
    with_column = {row["table_name"] for row in rows}
    missing = {t for t in await _tables() if _distributed(t) and t not in with_column}
    assert missing - TABLES_WITHOUT_BUSINESS_ID == set(), "new tables without business_id"
    assert TABLES_WITHOUT_BUSINESS_ID - missing == set(), "fixed: remove them from TABLES_WITHOUT_BUSINESS_ID"


@pytest.mark.asyncio
async def test_every_unique_index_includes_business_id(database: str) -> None:
    rows = await fetch(
        """
        SELECT t.relname AS table_name, i.relname AS index_name,
               array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL) AS columns
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
        WHERE n.nspname = 'public' AND x.indisunique
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    offending = {
        f"{row['table_name']}.{row['index_name']}({', '.join(sorted(row['columns'] or []))})"
        for row in rows
        if _distributed(row["table_name"]) and "business_id" not in (row["columns"] or [])
    }
    assert offending - UNIQUE_WITHOUT_BUSINESS_ID == set(), "new unique indexes without business_id"
    assert UNIQUE_WITHOUT_BUSINESS_ID - offending == set(), (
        "fixed: remove them from UNIQUE_WITHOUT_BUSINESS_ID"
    )


@pytest.mark.asyncio
async def test_every_foreign_key_between_distributed_tables_includes_business_id(database: str) -> None:
    rows = await fetch(
        """
        SELECT c.conname, t.relname AS table_name, r.relname AS referenced,
               array(SELECT attname::text FROM pg_attribute WHERE attrelid = c.conrelid
                     AND attnum = ANY(c.conkey)) AS columns
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_class r ON r.oid = c.confrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE c.contype = 'f' AND n.nspname = 'public'
        ORDER BY 2, 1
        """
    )
    offending = {
        f"{row['table_name']}.{row['conname']}({', '.join(sorted(row['columns']))}) -> {row['referenced']}"
        for row in rows
        if _distributed(row["table_name"])
        and _distributed(row["referenced"])
        and "business_id" not in row["columns"]
    }
    assert offending - FOREIGN_KEYS_WITHOUT_BUSINESS_ID == set(), "new foreign keys without business_id"
    assert FOREIGN_KEYS_WITHOUT_BUSINESS_ID - offending == set(), "fixed: remove them from the list"


# SQL on per-business tables whose text never names business_id, as of the first scan: most address a row by
# its primary key after a business-scoped lookup, some are jobs or operator screens that work across
# businesses. Under Citus each becomes a multi-shard query; the move narrows them (docs/operations.md).
UNSCOPED_STATEMENTS: frozenset[str] = frozenset(
    {
        "portal/domains/accounts/services.py::set_status",
        "portal/domains/accounts/services.py::update_account",
        "portal/domains/audit/services.py::<module>",
        "portal/domains/audit/services.py::_append",
        "portal/domains/audit/services.py::search",
        "portal/domains/audit/services.py::verify",
        "portal/domains/dashboard/services.py::<module>",
        "portal/domains/dashboard/services.py::balances",
        "portal/domains/identity/api_auth.py::<module>",
        # The cycle job sweeps due subscriptions of every business (each row carries its business_id and
        # the money-in join is on it); the scan cannot see through unnest() or an optional filter.
        "portal/domains/invoices/services/cycle.py::<module>",
        # Filtered by shared.scope_clause (business_id, then the actor's subtree), built at run time.
        "portal/domains/invoices/services/reports.py::monthly",
        # `WHERE i.business_id = $1` is in the f-string the scan splits at `{extra}`.
        "portal/domains/invoices/services/invoices.py::_close",
        "portal/domains/identity/api_auth.py::_claim",
        "portal/domains/identity/api_auth.py::_release",
        "portal/domains/identity/api_auth.py::authenticate",
        "portal/domains/identity/api_auth.py::prune",
        # The ledger's batch marks its claims by primary key; api_request lacks business_id (a gap above).
        "portal/domains/identity/idempotency.py::<module>",
        "portal/domains/identity/auth.py::_fail",
        "portal/domains/identity/auth.py::_failure_state",
        "portal/domains/identity/auth.py::_use_recovery_code",
        "portal/domains/identity/auth.py::authenticate",
        "portal/domains/identity/auth.py::change_email",
        "portal/domains/identity/auth.py::change_password",
        "portal/domains/identity/auth.py::complete_enrolment",
        "portal/domains/identity/auth.py::complete_reset",
        "portal/domains/identity/auth.py::end_session",
        "portal/domains/identity/auth.py::enrolment_secret",
        "portal/domains/identity/auth.py::list_sessions",
        "portal/domains/identity/auth.py::load_session",
        "portal/domains/identity/auth.py::new_recovery_codes",
        "portal/domains/identity/auth.py::reauthenticate",
        "portal/domains/identity/auth.py::revoke_session",
        "portal/domains/identity/auth.py::rotate_session",
        "portal/domains/identity/auth.py::set_language",
        "portal/domains/identity/auth.py::start_session",
        "portal/domains/identity/auth.py::token_user",
        "portal/domains/identity/auth.py::update_profile",
        "portal/domains/identity/demo.py::load",
        "portal/domains/identity/mail.py::outbox",
        "portal/domains/identity/mail.py::send",
        "portal/domains/identity/mail.py::send_pending",
        "portal/domains/identity/services.py::_insert_user",
        "portal/domains/identity/services.py::create_api_key",
        "portal/domains/identity/services.py::end_all_sessions",
        "portal/domains/identity/services.py::issue_link",
        "portal/domains/identity/services.py::list_users",
        "portal/domains/identity/services.py::reset_authenticator",
        "portal/domains/identity/services.py::reset_password",
        "portal/domains/identity/services.py::set_status",
        "portal/domains/identity/services.py::set_user_scope",
        "portal/domains/identity/services.py::update_user",
        "portal/domains/identity/services.py::user_by_id",
        "portal/domains/ledger/engine.py::<module>",
        "portal/domains/ledger/invariants.py::<module>",
        "portal/domains/ledger/services/balances.py::<module>",
        "portal/domains/ledger/services/holds.py::resolve_hold",
        "portal/domains/ledger/services/shared.py::account_names",
        "portal/domains/ledger/services/shared.py::list_objects",
        "portal/domains/ledger/services/topups.py::_book",
        "portal/domains/ledger/services/topups.py::expire_due_topups",
        "portal/domains/ledger/services/topups.py::pay_topup",
        "portal/domains/ledger/services/transfers.py::_visible_transfer",
        "portal/domains/ledger/services/transfers.py::list_transfer_rows",
        "portal/domains/ledger/services/transfers.py::reverse_transfer",
        "portal/domains/ledger/services/withdrawals.py::_complete_withdrawal",
        "portal/domains/notifications/services.py::list_for",
        "portal/domains/notifications/services.py::mark_read",
        "portal/domains/notifications/services.py::unread_count",
        "portal/domains/payouts/services.py::_refuse_duplicate",
        "portal/domains/payouts/services.py::add_beneficiary",
        "portal/domains/payouts/services.py::delete_beneficiary",
        "portal/domains/payouts/services.py::set_default",
        "portal/domains/provider/gateway.py::_record",
        "portal/domains/provider/services.py::_apply_payin_event",
        "portal/domains/provider/services.py::apply_event",
        "portal/domains/provider/services.py::reconcile",
        "portal/domains/reports/rollup.py::<module>",
        "portal/domains/reports/schedules.py::_deliver_one",
        "portal/domains/reports/schedules.py::cancel_schedule",
        "portal/domains/reports/schedules.py::mail_export_ready",
        "portal/domains/reports/services/exports.py::run_export",
        "portal/domains/reports/sql.py::<module>",
        "portal/domains/reports/sql.py::_name",
        "portal/domains/reports/sql.py::entries_query",
        "portal/domains/webhooks/delivery.py::_endpoint_health",
        "portal/domains/webhooks/delivery.py::record",
        "portal/domains/webhooks/delivery.py::sweep",
        "portal/domains/webhooks/services.py::_visible_events",
        "portal/domains/webhooks/services.py::console",
        "portal/domains/webhooks/services.py::get_event",
        "portal/domains/webhooks/services.py::list_events",
        "portal/domains/webhooks/services.py::update_endpoint",
    }
)

_STATEMENT = re.compile(r"\b(?:SELECT|UPDATE|INSERT|DELETE)\b", re.I)
_TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)", re.I)


def statements_without_business_filter(distributed: set[str]) -> set[str]:
    """`path::function` of every SQL literal that names a distributed table but never `business_id`."""
    found: set[str] = set()
    for path in sorted(PORTAL.rglob("*.py")):
        if "piccolo_migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        owner: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    owner.setdefault(id(inner), node.name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            tables = {name.lower() for name in _TABLE.findall(text)} & distributed
            if tables and _STATEMENT.search(text) and "business_id" not in text:
                found.add(f"{path.relative_to(PORTAL.parent)}::{owner.get(id(node), '<module>')}")
    return found


@pytest.mark.asyncio
async def test_no_new_query_reads_across_businesses(database: str) -> None:
    distributed = {t for t in await _tables() if _distributed(t)}
    found = statements_without_business_filter(distributed)
    assert found - UNSCOPED_STATEMENTS == set(), (
        "SQL on per-business tables without business_id: filter by it, or (operator screens only) "
        "add the function to UNSCOPED_STATEMENTS with the reason"
    )
    # An entry that no longer matches (the statement now filters by business_id) is not an error here, so
    # a branch that fixes one does not break another's run; prune the list when you touch it.
