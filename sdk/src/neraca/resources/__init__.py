"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .beneficiaries import AsyncBeneficiaries, Beneficiaries
from .events import AsyncEvents, Event, Events
from .holds import AsyncHolds, Holds
from .me import AsyncMeResource, MeResource
from .payments import AsyncPayments, Payments
from .rails import AsyncRails, Rails
from .settlements import AsyncSettlements, Settlements
from .split_rules import AsyncSplitRules, SplitRules
from .statements import AsyncStatements, StatementFormat, Statements
from .topups import AsyncTopUps, TopUps
from .transfers import AsyncTransfers, TransferLeg, Transfers
from .webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoint, WebhookEndpoints
from .withdrawals import AsyncWithdrawals, Withdrawals

__all__ = [
    "Accounts",
    "AsyncAccounts",
    "AsyncBalances",
    "AsyncBeneficiaries",
    "AsyncEvents",
    "AsyncHolds",
    "AsyncMeResource",
    "AsyncPayments",
    "AsyncRails",
    "AsyncSettlements",
    "AsyncSplitRules",
    "AsyncStatements",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWebhookEndpoints",
    "AsyncWithdrawals",
    "Balances",
    "Beneficiaries",
    "Event",
    "Events",
    "Holds",
    "MeResource",
    "Payments",
    "Rails",
    "Settlements",
    "SplitRules",
    "StatementFormat",
    "Statements",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "WebhookEndpoint",
    "WebhookEndpoints",
    "Withdrawals",
]
