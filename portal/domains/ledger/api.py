"""Ledger JSON API: balances, transfers, groups, holds, top-ups, withdrawals (docs/api-contract.md)."""

from __future__ import annotations

from datetime import datetime

from litestar import get, post

from portal.domains.accounts import services as accounts
from portal.domains.accounts.schemas import BalanceOut
from portal.domains.ledger import services
from portal.domains.ledger.schemas import (
    HoldCreate,
    HoldOut,
    HoldPost,
    MarkFailed,
    TopUpCreate,
    TopUpOut,
    TopUpPage,
    TransferCreate,
    TransferGroupCreate,
    TransferGroupOut,
    TransferOut,
    TransferPage,
    WithdrawalCreate,
    WithdrawalOut,
    WithdrawalPage,
)
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}
VIEW = [requires("transfers")]
MANAGE = [requires("transfers", "manage")]


@get(
    "/api/v1/balances/{account_id:str}",
    operation_id="retrieve_balance",
    guards=[requires("accounts")],
    dependencies=DEPS,
    tags=["balances"],
)
async def retrieve_balance(actor: Actor, account_id: str, as_of: datetime | None = None) -> BalanceOut:
    """The account's balance now, or at `as_of`."""
    return await services.balance(actor, account_id, as_of=as_of)


@get(
    "/api/v1/balances/{account_id:str}/rollup",
    operation_id="retrieve_rollup_balance",
    guards=[requires("accounts")],
    dependencies=DEPS,
    tags=["balances"],
)
async def retrieve_rollup(actor: Actor, account_id: str) -> BalanceOut:
    """The summed balance of the account and its descendants (in its currency); `accounts` counts them."""
    return await accounts.rollup_balance(actor, account_id)


@post(
    "/api/v1/transfers", operation_id="create_transfer", guards=MANAGE, dependencies=DEPS, tags=["transfers"]
)
async def create_transfer(actor: Actor, data: TransferCreate) -> TransferOut:
    """Move an amount (integer minor units) between two accounts of the same currency."""
    return await services.create_transfer(
        actor,
        from_account_id=data.from_account_id,
        to_account_id=data.to_account_id,
        amount=data.amount,
        reference=data.reference,
        description=data.description,
        metadata=data.metadata,
    )


@post(
    "/api/v1/transfer-groups",
    operation_id="create_transfer_group",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["transfers"],
)
async def create_transfer_group(actor: Actor, data: TransferGroupCreate) -> TransferGroupOut:
    """Book several transfers atomically: all succeed or none does."""
    legs = [
        {
            "from_account_id": t.from_account_id,
            "to_account_id": t.to_account_id,
            "amount": t.amount,
            "description": t.description,
        }
        for t in data.transfers
    ]
    return await services.create_transfer_group(actor, reference=data.reference, transfers=legs)


@get(
    "/api/v1/transfers/{transfer_id:str}",
    operation_id="retrieve_transfer",
    guards=VIEW,
    dependencies=DEPS,
    tags=["transfers"],
)
async def retrieve_transfer(actor: Actor, transfer_id: str) -> TransferOut:
    """One transfer."""
    return await services.get_transfer(actor, transfer_id)


@get("/api/v1/transfers", operation_id="list_transfers", guards=VIEW, dependencies=DEPS, tags=["transfers"])
async def list_transfers(
    actor: Actor,
    account_id: str | None = None,
    reference: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> TransferPage:
    """Transfers newest first: by account (either side), reference or creation window."""
    return await services.list_transfers(
        actor,
        account_id=account_id,
        reference=reference,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        after=after,
    )


@post("/api/v1/holds", operation_id="create_hold", guards=MANAGE, dependencies=DEPS, tags=["holds"])
async def create_hold(actor: Actor, data: HoldCreate) -> HoldOut:
    """Reserve an amount now; post it (in full or part) or void it later; it may expire."""
    return await services.create_hold(
        actor,
        from_account_id=data.from_account_id,
        to_account_id=data.to_account_id,
        amount=data.amount,
        reference=data.reference,
        expires_at=data.expires_at,
    )


@get(
    "/api/v1/holds/{hold_id:str}",
    operation_id="retrieve_hold",
    guards=VIEW,
    dependencies=DEPS,
    tags=["holds"],
)
async def retrieve_hold(actor: Actor, hold_id: str) -> HoldOut:
    """One hold."""
    return await services.get_hold(actor, hold_id)


@post(
    "/api/v1/holds/{hold_id:str}/post",
    operation_id="post_hold",
    guards=MANAGE,
    before_request=object_first(services.find_hold, "hold_id"),
    dependencies=DEPS,
    tags=["holds"],
    status_code=200,
)
async def post_hold(actor: Actor, hold_id: str, data: HoldPost | None = None) -> HoldOut:
    """Complete the hold: move `amount` (default all of it); the rest is released."""
    return await services.post_hold(actor, hold_id, amount=data.amount if data else None)


@post(
    "/api/v1/holds/{hold_id:str}/void",
    operation_id="void_hold",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["holds"],
    status_code=200,
)
async def void_hold(actor: Actor, hold_id: str) -> HoldOut:
    """Cancel the hold: the amount is available again at once."""
    return await services.void_hold(actor, hold_id)


@post("/api/v1/topups", operation_id="create_topup", guards=MANAGE, dependencies=DEPS, tags=["topups"])
async def create_topup(actor: Actor, data: TopUpCreate) -> TopUpOut:
    """Open a top-up order: pay `total` (amount + fee) to the payment instructions within 24 hours."""
    return await services.create_topup(
        actor, account_id=data.account_id, amount=data.amount, reference=data.reference
    )


@get(
    "/api/v1/topups/{topup_id:str}",
    operation_id="retrieve_topup",
    guards=VIEW,
    dependencies=DEPS,
    tags=["topups"],
)
async def retrieve_topup(actor: Actor, topup_id: str) -> TopUpOut:
    """One top-up."""
    return await services.get_topup(actor, topup_id)


@get("/api/v1/topups", operation_id="list_topups", guards=VIEW, dependencies=DEPS, tags=["topups"])
async def list_topups(
    actor: Actor,
    account_id: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> TopUpPage:
    """Top-ups newest first."""
    return await services.list_topups(actor, account_id=account_id, status=status, limit=limit, after=after)


@post(
    "/api/v1/topups/{topup_id:str}/simulate-payment",
    operation_id="simulate_topup_payment",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["topups"],
    status_code=200,
)
async def simulate_payment(actor: Actor, topup_id: str) -> TopUpOut:
    """Sandbox only: act as the payer; the account is credited and the fee booked."""
    return await services.simulate_topup_payment(actor, topup_id)


@post(
    "/api/v1/withdrawals",
    operation_id="create_withdrawal",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["withdrawals"],
)
async def create_withdrawal(actor: Actor, data: WithdrawalCreate) -> WithdrawalOut:
    """Pay out to the account's settlement bank account; amount + fee are held at once."""
    return await services.create_withdrawal(
        actor, account_id=data.account_id, amount=data.amount, reference=data.reference
    )


@get(
    "/api/v1/withdrawals/{withdrawal_id:str}",
    operation_id="retrieve_withdrawal",
    guards=VIEW,
    dependencies=DEPS,
    tags=["withdrawals"],
)
async def retrieve_withdrawal(actor: Actor, withdrawal_id: str) -> WithdrawalOut:
    """One withdrawal."""
    return await services.get_withdrawal(actor, withdrawal_id)


@get(
    "/api/v1/withdrawals",
    operation_id="list_withdrawals",
    guards=VIEW,
    dependencies=DEPS,
    tags=["withdrawals"],
)
async def list_withdrawals(
    actor: Actor,
    account_id: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> WithdrawalPage:
    """Withdrawals newest first."""
    return await services.list_withdrawals(
        actor, account_id=account_id, status=status, limit=limit, after=after
    )


@post(
    "/api/v1/withdrawals/{withdrawal_id:str}/mark-paid",
    operation_id="mark_withdrawal_paid",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["withdrawals"],
    status_code=200,
)
async def mark_paid(actor: Actor, withdrawal_id: str) -> WithdrawalOut:
    """Operator: the bank paid it (the holds post)."""
    return await services.mark_withdrawal_paid(actor, withdrawal_id)


@post(
    "/api/v1/withdrawals/{withdrawal_id:str}/mark-failed",
    operation_id="mark_withdrawal_failed",
    guards=[requires("payouts", "manage")],
    before_request=object_first(services.find_withdrawal, "withdrawal_id"),
    dependencies=DEPS,
    tags=["withdrawals"],
    status_code=200,
)
async def mark_failed(actor: Actor, withdrawal_id: str, data: MarkFailed) -> WithdrawalOut:
    """Operator: the payout failed (the holds void; the money is back at once)."""
    return await services.mark_withdrawal_failed(actor, withdrawal_id, reason=data.reason)


ROUTES = [
    retrieve_balance,
    retrieve_rollup,
    create_transfer,
    create_transfer_group,
    retrieve_transfer,
    list_transfers,
    create_hold,
    retrieve_hold,
    post_hold,
    void_hold,
    create_topup,
    retrieve_topup,
    list_topups,
    simulate_payment,
    create_withdrawal,
    retrieve_withdrawal,
    list_withdrawals,
    mark_paid,
    mark_failed,
]
