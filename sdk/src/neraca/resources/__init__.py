"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .events import AsyncEvents, Event, Events
from .holds import AsyncHolds, Holds
from .me import AsyncMeResource, MeResource
from .statements import AsyncStatements, StatementFormat, Statements
from .topups import AsyncTopUps, TopUps
from .transfers import AsyncTransfers, TransferLeg, Transfers
from .webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoint, WebhookEndpoints
from .withdrawals import AsyncWithdrawals, Withdrawals

__all__ = [
    "Accounts",
    "AsyncAccounts",
    "AsyncBalances",
    "AsyncEvents",
    "AsyncHolds",
    "AsyncMeResource",
    "AsyncStatements",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWebhookEndpoints",
    "AsyncWithdrawals",
    "Balances",
    "Event",
    "Events",
    "Holds",
    "MeResource",
    "StatementFormat",
    "Statements",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "WebhookEndpoint",
    "WebhookEndpoints",
    "Withdrawals",
]
