"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .beneficiaries import AsyncBeneficiaries, Beneficiaries
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
from .payout_batches import AsyncPayoutBatches, PayoutBatches
from .payouts import AsyncPayouts, Payouts
from .plans import AsyncPlans, Cycle, Plans
from .rails import AsyncRails, Rails
from .reports import AsyncReports, ReportFormat, ReportRows, Reports
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
    "AsyncEvents",
    "AsyncHolds",
    "AsyncInvoices",
    "AsyncMeResource",
    "AsyncMonitoringRules",
    "AsyncPayoutBatches",
    "AsyncPayouts",
    "AsyncPlans",
    "AsyncRails",
    "AsyncReports",
    "AsyncStatements",
    "AsyncSubscriptions",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWebhookEndpoints",
    "AsyncWithdrawals",
    "Balances",
    "Beneficiaries",
    "Cycle",
    "Event",
    "Events",
    "Holds",
    "Invoices",
    "MeResource",
    "MonitoringRule",
    "MonitoringRules",
    "PayoutBatches",
    "Payouts",
    "Plans",
    "Rails",
    "ReportFormat",
    "ReportRows",
    "Reports",
    "RuleTest",
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
