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
from .me import AsyncMeResource, MeResource
from .rails import AsyncRails, Rails
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
    "AsyncBillingBatches",
    "AsyncBillings",
    "AsyncCharges",
    "AsyncCustomers",
    "AsyncEvents",
    "AsyncHolds",
    "AsyncMeResource",
    "AsyncRails",
    "AsyncStatements",
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
    "Event",
    "Events",
    "Holds",
    "MeResource",
    "Rails",
    "StatementFormat",
    "Statements",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "WebhookEndpoint",
    "WebhookEndpoints",
    "Withdrawals",
]
