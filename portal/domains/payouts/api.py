"""Payouts JSON API (/api/v1/beneficiaries, /api/v1/rails): thin controllers over payouts.services."""

from __future__ import annotations

from litestar import delete, get, post

from portal.domains.payouts import services
from portal.domains.payouts.schemas import (
    BeneficiaryCreate,
    BeneficiaryOut,
    BeneficiaryPage,
    QuoteOut,
    RailList,
)
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, requires

DEPS = {"actor": ACTOR_DEPENDENCY}


@post(
    "/api/v1/beneficiaries",
    operation_id="create_beneficiary",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["beneficiaries"],
)
async def create_beneficiary(actor: Actor, data: BeneficiaryCreate) -> BeneficiaryOut:
    """Add a bank account or e-wallet after the provider's name inquiry; a different holder name is
    refused (`name_mismatch`) unless `confirm_holder_name` repeats the name the inquiry returned."""
    return await services.add_beneficiary(
        actor,
        kind=data.kind,
        holder_name=data.holder_name,
        account_id=data.account_id,
        bank_code=data.bank_code,
        account_number=data.account_number,
        wallet=data.wallet,
        phone=data.phone,
        label=data.label,
        is_default=data.is_default,
        confirm_holder_name=data.confirm_holder_name,
    )


@get(
    "/api/v1/beneficiaries",
    operation_id="list_beneficiaries",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["beneficiaries"],
)
async def list_beneficiaries(
    actor: Actor, account_id: str | None = None, limit: int | None = None, after: str | None = None
) -> BeneficiaryPage:
    """Beneficiaries in scope, oldest first, cursor-paginated."""
    return await services.list_beneficiaries(actor, account_id=account_id, limit=limit, after=after)


@get(
    "/api/v1/beneficiaries/{beneficiary_id:str}",
    operation_id="retrieve_beneficiary",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["beneficiaries"],
)
async def retrieve_beneficiary(actor: Actor, beneficiary_id: str) -> BeneficiaryOut:
    """One beneficiary of the caller's business and scope."""
    return await services.get_beneficiary(actor, beneficiary_id)


@post(
    "/api/v1/beneficiaries/{beneficiary_id:str}/default",
    operation_id="set_default_beneficiary",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["beneficiaries"],
    status_code=200,
)
async def set_default_beneficiary(actor: Actor, beneficiary_id: str) -> BeneficiaryOut:
    """Make it its account's default destination."""
    return await services.set_default(actor, beneficiary_id)


@delete(
    "/api/v1/beneficiaries/{beneficiary_id:str}",
    operation_id="delete_beneficiary",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["beneficiaries"],
)
async def delete_beneficiary(actor: Actor, beneficiary_id: str) -> None:
    """Remove it from the book."""
    await services.delete_beneficiary(actor, beneficiary_id)


@get(
    "/api/v1/rails",
    operation_id="list_rails",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["rails"],
)
async def list_rails(actor: Actor) -> RailList:
    """The payout rails with the business's limits and fees, their hours, and the next business days."""
    return await services.list_rails(actor)


@get(
    "/api/v1/rails/quote",
    operation_id="quote_rail",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["rails"],
)
async def quote_rail(actor: Actor, amount: str, destination: str, rail: str | None = None) -> QuoteOut:
    """The rail a payout would take (the cheapest eligible, or `rail`), its fee and its ETA."""
    return await services.quote(actor, amount, destination, rail=rail)


ROUTES = [
    create_beneficiary,
    list_beneficiaries,
    retrieve_beneficiary,
    set_default_beneficiary,
    delete_beneficiary,
    list_rails,
    quote_rail,
]
