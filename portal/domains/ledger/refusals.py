"""The ledger's refusals: a stable code, typed parameters and a field pointer; one table of their messages.

The engine decides *which* refusal applies; this table decides how it reads. Each entry names the
error class (hence the HTTP status), the API `code`, and the title, detail and field msgids, which are
translated when the error is shown (so each caller reads it in its own language, even inside a batch
of other callers' operations). Parameters stay typed (ids, integers in minor units, the currency) and
are sent as the problem's `params`; amounts are shown through the money formatter.

Precedence. When an operation breaks several rules the first one in `ENGINE_PRECEDENCE` is the answer,
as in TigerBeetle's CreateTransferResult (checks run in this order and stop at the first failure):

1. `duplicate_reference` — the reference is taken (checked before any account is read);
2. `account_not_found` on the source, then on the destination (another business, outside the actor's
   scope, or a system account for a non-internal operation: all look as if the account did not exist);
3. `currency_mismatch` — the two accounts hold different currencies;
4. `account_closed` — the source, then the destination;
5. `account_frozen` — the source (a frozen account still receives);
6. `insufficient_funds` — checked after every leg of the operation is applied (a group may pass through
   a dip); blamed on the last leg debiting the account.

Within a group, legs are checked in order: the first leg that fails rules 2–5 decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from portal.domains.ledger.labels import STATUSES
from portal.lib.errors import (
    N_,
    Amount,
    Conflict,
    FieldError,
    Label,
    NeracaError,
    NotFound,
    ValidationFailed,
)


class Refusal(StrEnum):
    """Why the ledger refused an operation (the engine's, in precedence order, then the services')."""

    DUPLICATE_REFERENCE = "duplicate_reference"
    ACCOUNT_NOT_FOUND = "account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_FROZEN = "account_frozen"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    # Refused by the ledger's services before or around the engine.
    SAME_ACCOUNT = "same_account"
    HOLD_NOT_PENDING = "hold_not_pending"
    HOLD_AMOUNT_EXCEEDED = "hold_amount_exceeded"
    NOT_REVERSIBLE = "not_reversible"
    ALREADY_REVERSED = "already_reversed"
    TOPUP_EXPIRED = "topup_expired"
    TOPUP_NOT_PENDING = "topup_not_pending"
    WITHDRAWAL_NOT_PENDING = "withdrawal_not_pending"
    NO_SETTLEMENT_BANK = "no_settlement_bank"
    NOT_SANDBOX = "not_sandbox"
    MONITORING_BLOCKED = "monitoring_blocked"


ENGINE_PRECEDENCE: tuple[Refusal, ...] = (
    Refusal.DUPLICATE_REFERENCE,
    Refusal.ACCOUNT_NOT_FOUND,
    Refusal.CURRENCY_MISMATCH,
    Refusal.ACCOUNT_CLOSED,
    Refusal.ACCOUNT_FROZEN,
    Refusal.INSUFFICIENT_FUNDS,
)


@dataclass(frozen=True)
class RefusalText:
    """How one refusal reads: error class, API code, title/detail/field msgids, which params are money."""

    error: type[NeracaError]
    code: str
    title: str
    detail: str
    field: str
    amounts: tuple[str, ...] = ()
    # Params holding a status code, shown as its label ("posted" → "Dibukukan").
    statuses: tuple[str, ...] = ()


REFUSALS: dict[Refusal, RefusalText] = {
    Refusal.DUPLICATE_REFERENCE: RefusalText(
        Conflict,
        "duplicate_reference",
        N_("Duplicate reference"),
        N_("The reference “%(reference)s” has already been used in this business."),
        N_("already used"),
    ),
    # The API code stays `not_found`: a missing account reads like any other missing object.
    Refusal.ACCOUNT_NOT_FOUND: RefusalText(
        NotFound,
        "not_found",
        N_("Account not found"),
        N_("Account %(account_id)s was not found."),
        N_("not found"),
    ),
    Refusal.CURRENCY_MISMATCH: RefusalText(
        ValidationFailed,
        "currency_mismatch",
        N_("Currencies differ"),
        N_(
            "Account %(debit_account_id)s holds %(debit_currency)s but %(credit_account_id)s holds "
            "%(credit_currency)s; a transfer moves one currency."
        ),
        N_("currency differs from the source account"),
    ),
    Refusal.ACCOUNT_CLOSED: RefusalText(
        ValidationFailed,
        "account_closed",
        N_("Account closed"),
        N_("Account %(account_id)s is closed."),
        N_("account is closed"),
    ),
    Refusal.ACCOUNT_FROZEN: RefusalText(
        ValidationFailed,
        "account_frozen",
        N_("Account frozen"),
        N_("Account %(account_id)s is frozen: nothing can be debited from it."),
        N_("account is frozen"),
    ),
    Refusal.INSUFFICIENT_FUNDS: RefusalText(
        ValidationFailed,
        "insufficient_funds",
        N_("Insufficient funds"),
        N_("Account %(account_id)s has %(available)s available; %(requested)s is requested."),
        N_("You have %(available)s available."),
        amounts=("available", "requested"),
    ),
    Refusal.SAME_ACCOUNT: RefusalText(
        ValidationFailed,
        "same_account",
        N_("Same account"),
        N_("The source and destination are the same account."),
        N_("same as the source account"),
    ),
    Refusal.HOLD_NOT_PENDING: RefusalText(
        Conflict,
        "hold_not_pending",
        N_("Hold already resolved"),
        N_("Hold %(hold_id)s is %(status)s; only a pending hold can change."),
        N_("hold is not pending"),
        statuses=("status",),
    ),
    Refusal.HOLD_AMOUNT_EXCEEDED: RefusalText(
        ValidationFailed,
        "hold_amount_exceeded",
        N_("More than the hold"),
        N_("At most %(held)s can be posted from hold %(hold_id)s."),
        N_("at most %(held)s"),
        amounts=("held",),
    ),
    Refusal.NOT_REVERSIBLE: RefusalText(
        Conflict,
        "not_reversible",
        N_("Not reversible"),
        N_("Transfer %(transfer_id)s cannot be reversed."),
        N_("cannot be reversed"),
    ),
    Refusal.ALREADY_REVERSED: RefusalText(
        Conflict,
        "already_reversed",
        N_("Already reversed"),
        N_("Transfer %(transfer_id)s has already been reversed."),
        N_("already reversed"),
    ),
    Refusal.TOPUP_EXPIRED: RefusalText(
        Conflict,
        "topup_expired",
        N_("Top-up expired"),
        N_("Top-up %(topup_id)s expired unpaid."),
        N_("expired"),
    ),
    Refusal.TOPUP_NOT_PENDING: RefusalText(
        Conflict,
        "topup_not_pending",
        N_("Top-up already resolved"),
        N_("Top-up %(topup_id)s is %(status)s."),
        N_("top-up is not pending"),
        statuses=("status",),
    ),
    Refusal.WITHDRAWAL_NOT_PENDING: RefusalText(
        Conflict,
        "withdrawal_not_pending",
        N_("Withdrawal already resolved"),
        N_("Withdrawal %(withdrawal_id)s is already %(status)s."),
        N_("withdrawal is not pending"),
        statuses=("status",),
    ),
    Refusal.NO_SETTLEMENT_BANK: RefusalText(
        ValidationFailed,
        "no_settlement_bank",
        N_("No settlement bank account"),
        N_("Account %(account_id)s has no settlement bank account; add one first."),
        N_("no settlement bank account"),
    ),
    Refusal.NOT_SANDBOX: RefusalText(
        Conflict,
        "not_sandbox",
        N_("Sandbox only"),
        N_("Payments can be simulated only in sandbox mode."),
        N_("sandbox only"),
    ),
    # A monitoring rule with the action "block" matched (checked before the engine: nothing is held).
    Refusal.MONITORING_BLOCKED: RefusalText(
        ValidationFailed,
        "monitoring_blocked",
        N_("Refused by monitoring"),
        N_("Refused by the monitoring rule “%(rule)s”."),
        N_("refused by a monitoring rule"),
    ),
}


def refuse(refusal: Refusal, pointer: str | None, **params: Any) -> NeracaError:
    """The error for `refusal`, on the field at `pointer` (None: the request as a whole), with typed
    `params` (amounts as integers in minor units of `params["currency"]`, statuses as codes); title,
    detail and field text are rendered when shown, in the reader's language."""
    text = REFUSALS[refusal]
    currency = params.get("currency", "")
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if key in text.amounts:
            shown[key] = Amount(value, currency)
        elif key in text.statuses:
            shown[key] = Label(STATUSES.get(value, value))
        else:
            shown[key] = value
    errors = [] if pointer is None else [FieldError(pointer, text.field, code=refusal.value, params=shown)]
    return text.error(
        text.detail,
        params=shown,
        code=text.code,
        title=text.title,
        errors=errors,
        extra={"params": dict(params)},
    )


def refusal_of(error: BaseException) -> Refusal | None:
    """The refusal an error stands for (None for any other error)."""
    if isinstance(error, NeracaError):
        for refusal, text in REFUSALS.items():
            if text.detail == error.msgid and text.code == error.code:
                return refusal
    return None
