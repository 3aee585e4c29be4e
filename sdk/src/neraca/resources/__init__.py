"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .beneficiaries import AsyncBeneficiaries, Beneficiaries
from .billing import (
    AsyncBillingBatches,
    AsyncBillings,
    AsyncCharges,
    AsyncCustomers,
    BillingBatches,
    Billings,
    Charges,
    Customers,
)
from .events import AsyncEvents, Event, Events
from .holds import AsyncHolds, Holds
from .invoices import AsyncInvoices, Invoices
from .me import AsyncMeResource, MeResource
from .monitoring import (
    Alert,
    Alerts,
    AsyncAlerts,
    AsyncMonitoringRules,
    MonitoringRule,
    MonitoringRules,
    RuleTest,
)
from .payments import AsyncPayments, Payments
from .payout_batches import AsyncPayoutBatches, PayoutBatches
from .payouts import AsyncPayouts, Payouts
from .plans import AsyncPlans, Cycle, Plans
from .rails import AsyncRails, Rails
from .reports import AsyncReports, ReportFormat, ReportRows, Reports
from .settlements import AsyncSettlements, Settlements
from .split_rules import AsyncSplitRules, SplitRules
from .statements import AsyncStatements, StatementFormat, Statements
from .subscriptions import AsyncSubscriptions, Subscriptions
from .topups import AsyncTopUps, TopUps
from .transfers import AsyncTransfers, TransferLeg, Transfers
from .webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoint, WebhookEndpoints
from .withdrawals import AsyncWithdrawals, Withdrawals

__all__ = [
    "Accounts",
    "Alert",
    "Alerts",
    "AsyncAccounts",
    "AsyncAlerts",
    "AsyncBalances",
    "AsyncBeneficiaries",
    "AsyncBillingBatches",
    "AsyncBillings",
    "AsyncCharges",
    "AsyncCustomers",
    "AsyncEvents",
    "AsyncHolds",
    "AsyncInvoices",
    "AsyncMeResource",
    "AsyncMonitoringRules",
    "AsyncPayments",
    "AsyncPayoutBatches",
    "AsyncPayouts",
    "AsyncPlans",
    "AsyncRails",
    "AsyncReports",
    "AsyncSettlements",
    "AsyncSplitRules",
    "AsyncStatements",
    "AsyncSubscriptions",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWebhookEndpoints",
    "AsyncWithdrawals",
    "Balances",
    "Beneficiaries",
    "BillingBatches",
    "Billings",
    "Charges",
    "Customers",
    "Cycle",
    "Event",
    "Events",
    "Holds",
    "Invoices",
    "MeResource",
    "MonitoringRule",
    "MonitoringRules",
    "Payments",
    "PayoutBatches",
    "Payouts",
    "Plans",
    "Rails",
    "ReportFormat",
    "ReportRows",
    "Reports",
    "RuleTest",
    "Settlements",
    "SplitRules",
    "StatementFormat",
    "Statements",
    "Subscriptions",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "WebhookEndpoint",
    "WebhookEndpoints",
    "Withdrawals",
]
