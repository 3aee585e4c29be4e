"""The dataset registry: one declarative entry per dataset the report builder offers.

Each entry names its SQL source (a SELECT filtered by `$1` = the business, and `$2` = the as-of day for
datasets that take one), its columns (SQL over the source's alias `s`, a type and a label), the account
columns a scoped user is limited by, and which columns give the account, the channel and the time for
grouping. A dataset of another domain is added here with nothing else to change: the builder, the
exports and the API read only this registry.
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
        key="payments",
        label=N_("Payments"),
        source=(
            "SELECT o.id, o.created_at, o.account_id, o.amount, o.fee, o.currency, o.status, "
            "o.invoice_number AS reference, o.channel, o.customer_name, o.refunded_amount, o.paid_at "
            "FROM payment o WHERE o.business_id = $1"
        ),
        columns={
            **_money_object_columns(N_("Payment")),
            "channel": _c("s.channel", "text", N_("Channel")),
            "customer_name": _c("s.customer_name", "text", N_("Customer")),
            "refunded_amount": _c("s.refunded_amount", "money", N_("Refunded")),
            "paid_at": _c("s.paid_at", "datetime", N_("Paid")),
        },
        default_columns=("created_at", "account_id", "amount", "fee", "channel", "status", "reference"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="channel",
    )
)

# One row per settlement batch and account: a batch settles payments of several accounts, so a scoped
# user sees (and totals) only its own accounts' share of each batch.
register(
    Dataset(
        key="settlements",
        label=N_("Settlement batches"),
        source=(
            "SELECT b.id, b.created_at, l.account_id, b.channel, b.business_day::text AS business_day, "
            "b.settlement_date::text AS settlement_date, b.status, b.paid_at, count(*)::bigint AS payments, "
            "sum(l.amount)::bigint AS gross, sum(l.fee)::bigint AS fees, sum(l.refunded)::bigint AS refunds, "
            "sum(l.refund_fee)::bigint AS refund_fees, sum(l.net)::bigint AS net, 'IDR'::text AS currency "
            "FROM settlement b JOIN settlement_line l ON l.business_id = b.business_id "
            "AND l.settlement_id = b.id WHERE b.business_id = $1 GROUP BY b.business_id, b.id, l.account_id"
        ),
        columns={
            "id": _c("s.id", "text", N_("Settlement")),
            "created_at": _c("s.created_at", "datetime", N_("Created")),
            "account_id": _c("s.account_id", "text", N_("Account")),
            "channel": _c("s.channel", "text", N_("Channel")),
            "business_day": _c("s.business_day", "text", N_("Business day")),
            "settlement_date": _c("s.settlement_date", "text", N_("Settlement date")),
            "status": _c("s.status", "text", N_("Status")),
            "paid_at": _c("s.paid_at", "datetime", N_("Paid")),
            "payments": _c("s.payments", "int", N_("Payments")),
            "gross": _c("s.gross", "money", N_("Gross")),
            "fees": _c("s.fees", "money", N_("Fees")),
            "refunds": _c("s.refunds", "money", N_("Refunds")),
            "refund_fees": _c("s.refund_fees", "money", N_("Refund fees")),
            "net": _c("s.net", "money", N_("Net")),
        },
        default_columns=(
            "business_day",
            "channel",
            "account_id",
            "status",
            "gross",
            "fees",
            "refunds",
            "net",
        ),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="channel",
    )
)

register(
    Dataset(
        key="payouts",
        label=N_("Payouts"),
        source=(
            "SELECT o.id, o.created_at, o.account_id, o.amount, o.fee, o.currency, o.status, o.reference, "
            "o.rail, o.kind, coalesce(o.bank_code, o.wallet) AS bank_code, o.holder_name, o.beneficiary_id, "
            "o.completed_at FROM payout o WHERE o.business_id = $1"
        ),
        columns={
            **_money_object_columns(N_("Payout")),
            "rail": _c("s.rail", "text", N_("Rail")),
            "kind": _c("s.kind", "text", N_("Kind")),
            "bank_code": _c("s.bank_code", "text", N_("Bank")),
            "holder_name": _c("s.holder_name", "text", N_("Holder")),
            "beneficiary_id": _c("s.beneficiary_id", "text", N_("Beneficiary")),
            "completed_at": _c("s.completed_at", "datetime", N_("Completed")),
        },
        default_columns=("created_at", "account_id", "amount", "fee", "rail", "status", "reference"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="rail",
    )
)

register(
    Dataset(
        key="charges",
        label=N_("Card billing charges"),
        source=(
            "SELECT o.id, o.created_at, o.account_id, o.amount, 0::bigint AS fee, o.currency, o.status, "
            "o.invoice_number AS reference, o.kind, o.billing_number, o.customer_id, "
            "o.attempt::bigint AS attempt, o.card_brand, o.refunded_amount, o.charged_at "
            "FROM billing_charge o WHERE o.business_id = $1"
        ),
        columns={
            **{k: v for k, v in _money_object_columns(N_("Charge")).items() if k != "fee"},
            "kind": _c("s.kind", "text", N_("Kind")),
            "billing_number": _c("s.billing_number", "text", N_("Billing")),
            "customer_id": _c("s.customer_id", "text", N_("Customer")),
            "attempt": _c("s.attempt", "int", N_("Attempt")),
            "card_brand": _c("s.card_brand", "text", N_("Card")),
            "refunded_amount": _c("s.refunded_amount", "money", N_("Refunded")),
            "charged_at": _c("s.charged_at", "datetime", N_("Charged")),
        },
        default_columns=("created_at", "account_id", "billing_number", "amount", "status", "reference"),
        scope_columns=("account_id",),
        account_column="account_id",
        time_column="created_at",
        channel_column="kind",
    )
)

# An invoice names two accounts of the business (the one billed and the one it pays into): a scoped user
# sees it when either is in the subtree, as with a transfer.
register(
    Dataset(
        key="invoices",
        label=N_("Invoices"),
        source=(
            "SELECT i.id, i.issued_at AS created_at, i.number::text AS number, i.account_id, "
            "i.receiving_account_id, i.plan_id, i.subscription_id, i.period_start::text AS period_start, "
            "i.due_on::text AS due_on, i.subtotal, i.tax, i.total, i.paid_amount, i.credited_amount, "
            "i.written_off_amount, i.total - i.paid_amount - i.written_off_amount AS outstanding, "
            "i.currency, i.status FROM invoice i WHERE i.business_id = $1"
        ),
        columns={
            "id": _c("s.id", "text", N_("Invoice")),
            "created_at": _c("s.created_at", "datetime", N_("Issued")),
            "number": _c("s.number", "text", N_("Number")),
            "account_id": _c("s.account_id", "text", N_("Account")),
            "receiving_account_id": _c("s.receiving_account_id", "text", N_("Receiving account")),
            "plan_id": _c("s.plan_id", "text", N_("Plan")),
            "subscription_id": _c("s.subscription_id", "text", N_("Subscription")),
            "period_start": _c("s.period_start", "text", N_("Period")),
            "due_on": _c("s.due_on", "text", N_("Due")),
            "subtotal": _c("s.subtotal", "money", N_("Subtotal")),
            "tax": _c("s.tax", "money", N_("Tax")),
            "total": _c("s.total", "money", N_("Total")),
            "paid_amount": _c("s.paid_amount", "money", N_("Paid")),
            "credited_amount": _c("s.credited_amount", "money", N_("Credited")),
            "written_off_amount": _c("s.written_off_amount", "money", N_("Written off")),
            "outstanding": _c("s.outstanding", "money", N_("Outstanding")),
            "currency": _c("s.currency", "text", N_("Currency")),
            "status": _c("s.status", "text", N_("Status")),
        },
        default_columns=("created_at", "number", "account_id", "total", "paid_amount", "status", "due_on"),
        scope_columns=("account_id", "receiving_account_id"),
        account_column="account_id",
        time_column="created_at",
        channel_column="plan_id",
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
