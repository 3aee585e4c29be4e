"""The dataset registry: one declarative entry per dataset the report builder offers.

Each entry names its SQL source (a SELECT filtered by `$1` = the business, and `$2` = the as-of day for
datasets that take one), its columns (SQL over the source's alias `s`, a type and a label), the account
columns a scoped user is limited by, and which columns give the account, the channel and the time for
grouping. A dataset of another domain is added here (payments, settlements, payouts, charges, invoices)
with nothing else to change: the builder, the exports and the API read only this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from portal.lib.i18n import N_

ColumnType = Literal["text", "money", "int", "datetime"]


@dataclass(frozen=True)
class Column:
    sql: str
    type: ColumnType
    label: str


@dataclass(frozen=True)
class Dataset:
    key: str
    label: str
    source: str
    columns: dict[str, Column]
    default_columns: tuple[str, ...]
    # Columns naming accounts: a scoped user sees a row when one of them is in the subtree.
    scope_columns: tuple[str, ...]
    account_column: str | None = None
    time_column: str | None = None
    channel_column: str | None = None
    currency_column: str | None = "currency"
    takes_date: bool = False
    presets: dict[str, dict[str, object]] = field(default_factory=dict)


def _c(sql: str, type_: ColumnType, label: str) -> Column:
    return Column(sql, type_, label)


DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    DATASETS[dataset.key] = dataset
    return dataset


register(
    Dataset(
        key="transfers",
        label=N_("Transfers"),
        source=(
            "SELECT t.id, t.created_at, t.debit_account_id AS from_account_id, "
            "t.credit_account_id AS to_account_id, t.amount, t.currency, t.kind, t.reference, t.description "
            "FROM transfer t WHERE t.business_id = $1 AND t.phase IN ('posted', 'post_pending')"
        ),
        columns={
            "id": _c("s.id", "text", N_("Transfer")),
            "created_at": _c("s.created_at", "datetime", N_("Created")),
            "from_account_id": _c("s.from_account_id", "text", N_("From account")),
            "to_account_id": _c("s.to_account_id", "text", N_("To account")),
            "amount": _c("s.amount", "money", N_("Amount")),
            "currency": _c("s.currency", "text", N_("Currency")),
            "kind": _c("s.kind", "text", N_("Kind")),
            "reference": _c("s.reference", "text", N_("Reference")),
            "description": _c("s.description", "text", N_("Description")),
        },
        default_columns=("created_at", "from_account_id", "to_account_id", "amount", "kind", "reference"),
        scope_columns=("from_account_id", "to_account_id"),
        account_column="from_account_id",
        time_column="created_at",
        channel_column="kind",
    )
)


def _money_object_columns(id_label: str) -> dict[str, Column]:
    """The columns every held-then-settled money object (top-up, withdrawal) shares, in display order."""
    return {
        "id": _c("s.id", "text", id_label),
        "created_at": _c("s.created_at", "datetime", N_("Created")),
        "account_id": _c("s.account_id", "text", N_("Account")),
        "amount": _c("s.amount", "money", N_("Amount")),
        "fee": _c("s.fee", "money", N_("Fee")),
        "currency": _c("s.currency", "text", N_("Currency")),
        "status": _c("s.status", "text", N_("Status")),
        "reference": _c("s.reference", "text", N_("Reference")),
    }


register(
    Dataset(
        key="topups",
        label=N_("Top-ups"),
        source=(
            "SELECT o.id, o.created_at, o.account_id, o.amount, o.fee, o.currency, o.status, o.reference, "
            "'va'::text AS channel FROM topup o WHERE o.business_id = $1"
        ),
        columns={**_money_object_columns(N_("Top-up")), "channel": _c("s.channel", "text", N_("Channel"))},
        default_columns=("created_at", "account_id", "amount", "fee", "status", "reference"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="channel",
    )
)

register(
    Dataset(
        key="withdrawals",
        label=N_("Withdrawals"),
        source=(
            "SELECT o.id, o.created_at, o.account_id, o.amount, o.fee, o.currency, o.status, o.reference, "
            "o.bank_code FROM withdrawal o WHERE o.business_id = $1"
        ),
        columns={
            **_money_object_columns(N_("Withdrawal")),
            "bank_code": _c("s.bank_code", "text", N_("Bank")),
        },
        default_columns=("created_at", "account_id", "amount", "fee", "status", "reference"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="bank_code",
    )
)

register(
    Dataset(
        key="account_balances",
        label=N_("Account balances at a date"),
        source=(
            "SELECT a.id AS account_id, a.name, a.kind, a.currency, a.status, "
            "coalesce(sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END), 0)::bigint "
            "AS balance FROM account a LEFT JOIN transfer t ON t.business_id = a.business_id "
            "AND (t.credit_account_id = a.id OR t.debit_account_id = a.id) "
            "AND t.phase IN ('posted', 'post_pending') "
            "AND t.created_at < (($2::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') "
            "WHERE a.business_id = $1 AND a.kind <> 'system' GROUP BY a.id"
        ),
        columns={
            "account_id": _c("s.account_id", "text", N_("Account")),
            "name": _c("s.name", "text", N_("Name")),
            "kind": _c("s.kind", "text", N_("Kind")),
            "currency": _c("s.currency", "text", N_("Currency")),
            "status": _c("s.status", "text", N_("Status")),
            "balance": _c("s.balance", "money", N_("Balance")),
        },
        default_columns=("account_id", "name", "kind", "balance"),
        scope_columns=("account_id",),
        account_column="account_id",
        takes_date=True,
    )
)

register(
    Dataset(
        key="alerts",
        label=N_("Monitoring alerts"),
        source=(
            "SELECT m.id, m.created_at, m.account_id, m.rule_kind, m.rule_name, m.severity, m.action, "
            "m.status, m.amount, m.currency FROM monitoring_alert m WHERE m.business_id = $1"
        ),
        columns={
            "id": _c("s.id", "text", N_("Alert")),
            "created_at": _c("s.created_at", "datetime", N_("Raised")),
            "account_id": _c("s.account_id", "text", N_("Account")),
            "rule_kind": _c("s.rule_kind", "text", N_("Rule")),
            "rule_name": _c("s.rule_name", "text", N_("Name")),
            "severity": _c("s.severity", "text", N_("Severity")),
            "action": _c("s.action", "text", N_("Action")),
            "status": _c("s.status", "text", N_("Status")),
            "amount": _c("s.amount", "money", N_("Amount")),
        },
        default_columns=("created_at", "rule_name", "severity", "status", "account_id", "amount"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="rule_kind",
    )
)

# Money in and out of each account, one row per posted leg: the "financial performance" preset groups it
# by month (per account, or per subtree) with money in, money out, fees and net.
register(
    Dataset(
        key="account_movements",
        label=N_("Account movements"),
        source=(
            "SELECT t.id, t.created_at, t.credit_account_id AS account_id, t.kind, t.currency, "
            "t.amount AS money_in, 0::bigint AS money_out, 0::bigint AS fees, t.amount AS net "
            "FROM transfer t JOIN account a ON a.id = t.credit_account_id AND a.kind <> 'system' "
            "WHERE t.business_id = $1 AND t.phase IN ('posted', 'post_pending') "
            "UNION ALL "
            "SELECT t.id, t.created_at, t.debit_account_id, t.kind, t.currency, 0, "
            "CASE WHEN c.system_role = 'fees' THEN 0 ELSE t.amount END, "
            "CASE WHEN c.system_role = 'fees' THEN t.amount ELSE 0 END, -t.amount "
            "FROM transfer t JOIN account c ON c.id = t.credit_account_id "
            "JOIN account d ON d.id = t.debit_account_id AND d.kind <> 'system' "
            "WHERE t.business_id = $1 AND t.phase IN ('posted', 'post_pending')"
        ),
        columns={
            "id": _c("s.id", "text", N_("Transfer")),
            "created_at": _c("s.created_at", "datetime", N_("Created")),
            "account_id": _c("s.account_id", "text", N_("Account")),
            "kind": _c("s.kind", "text", N_("Kind")),
            "currency": _c("s.currency", "text", N_("Currency")),
            "money_in": _c("s.money_in", "money", N_("Money in")),
            "money_out": _c("s.money_out", "money", N_("Money out")),
            "fees": _c("s.fees", "money", N_("Fees")),
            "net": _c("s.net", "money", N_("Net")),
        },
        default_columns=("created_at", "account_id", "kind", "money_in", "money_out", "fees", "net"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="kind",
    )
)

# Presets: a named spec a user starts from.
PRESETS: dict[str, dict[str, object]] = {
    "financial_performance": {
        "dataset": "account_movements",
        "columns": ["money_in", "money_out", "fees", "net"],
        "group_by": ["account", "month"],
        "sort": [{"field": "month", "direction": "asc"}],
    },
    "financial_performance_subtree": {
        "dataset": "account_movements",
        "columns": ["money_in", "money_out", "fees", "net"],
        "group_by": ["subtree", "month"],
        "sort": [{"field": "month", "direction": "asc"}],
    },
}
