"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .holds import AsyncHolds, Holds
from .me import AsyncMeResource, MeResource
from .statements import AsyncStatements, StatementFormat, Statements
from .topups import AsyncTopUps, TopUps
from .transfers import AsyncTransfers, TransferLeg, Transfers
from .withdrawals import AsyncWithdrawals, Withdrawals

__all__ = [
    "Accounts",
    "AsyncAccounts",
    "AsyncBalances",
    "AsyncHolds",
    "AsyncMeResource",
    "AsyncStatements",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWithdrawals",
    "Balances",
    "Holds",
    "MeResource",
    "StatementFormat",
    "Statements",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "Withdrawals",
]
