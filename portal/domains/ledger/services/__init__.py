"""The ledger service: transfers, groups, holds, reversals, balances, top-ups, withdrawals.

One module per aggregate; everything callers use is re-exported here (`from portal.domains.ledger import
services`). Writes go through `engine.execute`, which applies an operation inside the caller's
transaction or, with none open, by group commit. Lock order everywhere: references, then the money
object's own row (hold, top-up, withdrawal), then accounts (id order), then the activity log — so no two
paths wait on each other in a cycle.
"""

from portal.domains.ledger.services.balances import BALANCE_AS_OF_SQL, balance
from portal.domains.ledger.services.holds import (
    HOLD_COLUMNS,
    MAX_HOLD_VALIDITY,
    create_hold,
    expire_due_holds,
    expire_hold,
    find_hold,
    get_hold,
    hold_out,
    post_hold,
    void_hold,
)
from portal.domains.ledger.services.sends import (
    Recipient,
    get_recipient,
    search_recipients,
    send_to_account,
)
from portal.domains.ledger.services.shared import account_names, business_fees
from portal.domains.ledger.services.topups import (
    COLLECTION_BANK,
    TOPUP_COLUMNS,
    TOPUP_VALIDITY,
    create_topup,
    expire_due_topups,
    expire_topup,
    get_topup,
    list_topups,
    pay_topup,
    simulate_topup_payment,
    topup_out,
)
from portal.domains.ledger.services.transfers import (
    LINE_KINDS,
    LINE_STATUSES,
    TRANSFER_COLUMNS,
    create_transfer,
    create_transfer_group,
    find_transfer,
    get_group,
    get_transfer,
    get_transfer_row,
    list_transfer_rows,
    list_transfers,
    reverse_transfer,
    transfer_out,
)
from portal.domains.ledger.services.withdrawals import (
    WITHDRAWAL_COLUMNS,
    create_withdrawal,
    find_withdrawal,
    get_withdrawal,
    list_withdrawals,
    mark_withdrawal_failed,
    mark_withdrawal_paid,
    withdrawal_out,
)

# The views' name lookup predates the split; kept under its old name so they need not change.
_account_names = account_names

__all__ = [
    "BALANCE_AS_OF_SQL",
    "COLLECTION_BANK",
    "HOLD_COLUMNS",
    "LINE_KINDS",
    "LINE_STATUSES",
    "MAX_HOLD_VALIDITY",
    "TOPUP_COLUMNS",
    "TOPUP_VALIDITY",
    "TRANSFER_COLUMNS",
    "WITHDRAWAL_COLUMNS",
    "Recipient",
    "account_names",
    "balance",
    "business_fees",
    "create_hold",
    "create_topup",
    "create_transfer",
    "create_transfer_group",
    "create_withdrawal",
    "expire_due_holds",
    "expire_due_topups",
    "expire_hold",
    "expire_topup",
    "find_hold",
    "find_transfer",
    "find_withdrawal",
    "get_group",
    "get_hold",
    "get_recipient",
    "get_topup",
    "get_transfer",
    "get_transfer_row",
    "get_withdrawal",
    "hold_out",
    "list_topups",
    "list_transfer_rows",
    "list_transfers",
    "list_withdrawals",
    "mark_withdrawal_failed",
    "mark_withdrawal_paid",
    "pay_topup",
    "post_hold",
    "reverse_transfer",
    "search_recipients",
    "send_to_account",
    "simulate_topup_payment",
    "topup_out",
    "transfer_out",
    "void_hold",
    "withdrawal_out",
]
