"""Resource groups bound to a client: ``client.accounts``, ``client.transfers``, ..."""

from .accounts import Accounts, AsyncAccounts
from .balances import AsyncBalances, Balances
from .beneficiaries import AsyncBeneficiaries, Beneficiaries
from .holds import AsyncHolds, Holds
from .me import AsyncMeResource, MeResource
from .rails import AsyncRails, Rails
from .statements import AsyncStatements, StatementFormat, Statements
from .topups import AsyncTopUps, TopUps
from .transfers import AsyncTransfers, TransferLeg, Transfers
from .withdrawals import AsyncWithdrawals, Withdrawals

__all__ = [
    "Accounts",
    "AsyncAccounts",
    "AsyncBalances",
    "AsyncBeneficiaries",
    "AsyncHolds",
    "AsyncMeResource",
    "AsyncRails",
    "AsyncStatements",
    "AsyncTopUps",
    "AsyncTransfers",
    "AsyncWithdrawals",
    "Balances",
    "Beneficiaries",
    "Holds",
    "MeResource",
    "Rails",
    "StatementFormat",
    "Statements",
    "TopUps",
    "TransferLeg",
    "Transfers",
    "Withdrawals",
]
