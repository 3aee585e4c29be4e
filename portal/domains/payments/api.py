"""Payments JSON API (/api/v1/payments, /api/v1/split_rules, /api/v1/settlements, /api/v1/payment_settings):
thin controllers over payments.services (docs/payments.md)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import delete, get, patch, post

from portal.domains.payments import services
from portal.domains.payments.schemas import (
    DeductionPage,
    Payment,
    PaymentCreate,
    PaymentPage,
    PaymentSettingsOut,
    Refund,
    RefundCreate,
    SettlementDetail,
    SettlementOut,
    SettlementPage,
    SplitPreview,
    SplitPreviewIn,
    SplitRuleCreate,
    SplitRuleOut,
    SplitRulePage,
    SplitRuleUpdate,
    SplitUpdate,
)
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}
VIEW = [requires("payments")]
MANAGE = [requires("payments", "manage")]
SPLITS_VIEW = [requires("splits")]
SPLITS_MANAGE = [requires("splits", "manage")]


def _destinations(items: list[Any] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [msgspec.to_builtins(item) for item in items]


@post("/api/v1/payments", operation_id="create_payment", guards=MANAGE, dependencies=DEPS, tags=["payments"])
async def create_payment(actor: Actor, data: PaymentCreate) -> Payment:
    """Ask a customer for a payment into an account (VA, QRIS, card token, e-wallet). Idempotent on
    `invoice_number`: the same request answers the first payment; other details → 409 `duplicate_invoice`."""
    return await services.create_payment(
        actor,
        services.PaymentRequest(
            account_id=data.account_id,
            amount=data.amount,
            currency=data.currency,
            channel=data.channel,
            invoice_number=data.invoice_number,
            customer_id=data.customer_id,
            customer_name=data.customer_name,
            customer_email=data.customer_email,
            description=data.description,
            expires_at=data.expires_at,
            split_rule_id=data.split_rule_id,
            split=_destinations(data.split),
            bank_code=data.bank_code,
            wallet=data.wallet,
            phone=data.phone,
            card_token=data.card_token,
            metadata=data.metadata or {},
            source="api",
        ),
    )


@get("/api/v1/payments", operation_id="list_payments", guards=VIEW, dependencies=DEPS, tags=["payments"])
async def list_payments(
    actor: Actor,
    account_id: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    split: bool | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> PaymentPage:
    """Payments in scope, newest first, cursor-paginated; filters status, channel, account, split, `q`."""
    return await services.list_payments(
        actor,
        account_id=account_id,
        status=status,
        channel=channel,
        q=q,
        split=split,
        limit=limit,
        after=after,
    )


@get(
    "/api/v1/payments/{payment_id:str}",
    operation_id="retrieve_payment",
    guards=VIEW,
    dependencies=DEPS,
    tags=["payments"],
)
async def retrieve_payment(actor: Actor, payment_id: str) -> Payment:
    """One payment of the caller's business and scope."""
    return await services.get_payment(actor, payment_id)


@post(
    "/api/v1/payments/{payment_id:str}/refunds",
    operation_id="refund_payment",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["payments"],
    before_request=object_first(services.find_payment, "payment_id"),
)
async def refund_payment(actor: Actor, payment_id: str, data: RefundCreate) -> Refund:
    """Refund all (no `amount`) or part of a paid payment; never above what is left."""
    return await services.refund_payment(actor, payment_id, data.amount, data.reason)


@post(
    "/api/v1/payments/{payment_id:str}/split",
    operation_id="update_payment_split",
    guards=SPLITS_MANAGE,
    dependencies=DEPS,
    tags=["payments"],
    status_code=200,
    before_request=object_first(services.find_payment, "payment_id"),
)
async def update_split(actor: Actor, payment_id: str, data: SplitUpdate) -> Payment:
    """Settlement Configuration of one payment (Payment Success or Pending Settlement only); an empty
    `destinations` cancels its split."""
    return await services.update_payment_split(actor, payment_id, _destinations(data.destinations) or [])


@post(
    "/api/v1/payments/{payment_id:str}/simulate-payment",
    operation_id="simulate_payment",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["payments"],
    status_code=200,
)
async def simulate_payment(actor: Actor, payment_id: str) -> Payment:
    """Sandbox only: the customer pays at the sandbox provider now."""
    return await services.simulate_payment(actor, payment_id)


@post(
    "/api/v1/split_rules",
    operation_id="create_split_rule",
    guards=SPLITS_MANAGE,
    dependencies=DEPS,
    tags=["split_rules"],
)
async def create_split_rule(actor: Actor, data: SplitRuleCreate) -> SplitRuleOut:
    """A reusable split rule (up to 10 destinations), optionally attached to an account."""
    return await services.create_rule(
        actor, name=data.name, destinations=_destinations(data.destinations) or [], account_id=data.account_id
    )


@get(
    "/api/v1/split_rules",
    operation_id="list_split_rules",
    guards=SPLITS_VIEW,
    dependencies=DEPS,
    tags=["split_rules"],
)
async def list_split_rules(actor: Actor, limit: int | None = None, after: str | None = None) -> SplitRulePage:
    """The business's split rules, newest first."""
    return await services.list_rules(actor, limit=limit, after=after)


@post(
    "/api/v1/split_rules/preview",
    operation_id="preview_split",
    guards=SPLITS_VIEW,
    dependencies=DEPS,
    tags=["split_rules"],
    status_code=200,
)
async def preview_split(actor: Actor, data: SplitPreviewIn) -> SplitPreview:
    """A dry run: what each destination receives from a payment and the remainder (writes nothing)."""
    return await services.preview(
        actor,
        _destinations(data.destinations) or [],
        amount=data.amount,
        channel=data.channel,
        payment_id=data.payment_id,
    )


@get(
    "/api/v1/split_rules/{split_rule_id:str}",
    operation_id="retrieve_split_rule",
    guards=SPLITS_VIEW,
    dependencies=DEPS,
    tags=["split_rules"],
)
async def retrieve_split_rule(actor: Actor, split_rule_id: str) -> SplitRuleOut:
    """One split rule."""
    return await services.get_rule(actor, split_rule_id)


@patch(
    "/api/v1/split_rules/{split_rule_id:str}",
    operation_id="update_split_rule",
    guards=SPLITS_MANAGE,
    dependencies=DEPS,
    tags=["split_rules"],
    before_request=object_first(services.find_rule, "split_rule_id"),
)
async def update_split_rule(actor: Actor, split_rule_id: str, data: SplitRuleUpdate) -> SplitRuleOut:
    """Change a rule's name, destinations or account (payments created before keep theirs)."""
    changes: dict[str, Any] = {"name": data.name, "account_id": data.account_id}
    if data.destinations is not None:
        changes["destinations"] = _destinations(data.destinations)
    return await services.update_rule(actor, split_rule_id, changes)


@delete(
    "/api/v1/split_rules/{split_rule_id:str}",
    operation_id="delete_split_rule",
    guards=SPLITS_MANAGE,
    dependencies=DEPS,
    tags=["split_rules"],
)
async def delete_split_rule(actor: Actor, split_rule_id: str) -> None:
    """Retire a split rule."""
    await services.delete_rule(actor, split_rule_id)


@get(
    "/api/v1/settlements",
    operation_id="list_settlements",
    guards=VIEW,
    dependencies=DEPS,
    tags=["settlements"],
)
async def list_settlements(
    actor: Actor,
    status: str | None = None,
    channel: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> SettlementPage:
    """Settlement batches, newest first."""
    return await services.list_settlements(actor, status=status, channel=channel, limit=limit, after=after)


@get(
    "/api/v1/settlements/{settlement_id:str}",
    operation_id="retrieve_settlement",
    guards=VIEW,
    dependencies=DEPS,
    tags=["settlements"],
)
async def retrieve_settlement(actor: Actor, settlement_id: str) -> SettlementDetail:
    """One batch with its payments."""
    return await services.get_settlement(actor, settlement_id)


@post(
    "/api/v1/settlements/{settlement_id:str}/apply",
    operation_id="apply_settlement",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["settlements"],
    status_code=200,
)
async def apply_settlement(actor: Actor, settlement_id: str) -> SettlementOut:
    """Sandbox only: apply a pending batch now instead of on its settlement date."""
    return await services.apply_now(actor, settlement_id)


@get(
    "/api/v1/settlement_deductions",
    operation_id="list_settlement_deductions",
    guards=VIEW,
    dependencies=DEPS,
    tags=["settlements"],
)
async def list_settlement_deductions(
    actor: Actor, status: str | None = None, limit: int | None = None, after: str | None = None
) -> DeductionPage:
    """Refund deductions owed by destinations (`status` `owed` or `settled`): taken by the channel's next
    batches, then from the balance after the grace days; what is still owed."""
    return await services.list_deductions(actor, status=status, limit=limit, after=after)


@get(
    "/api/v1/payment_settings",
    operation_id="retrieve_payment_settings",
    guards=VIEW,
    dependencies=DEPS,
    tags=["payments"],
)
async def retrieve_payment_settings(actor: Actor) -> PaymentSettingsOut:
    """MDR per channel, the default settlement account, the split service's status."""
    return await services.get_settings(actor)


@patch(
    "/api/v1/payment_settings",
    operation_id="update_payment_settings",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["payments"],
)
async def update_payment_settings(actor: Actor, data: dict[str, Any]) -> PaymentSettingsOut:
    """Change MDR rates (hundredths of a percent) and flats, the default settlement account, or the grace
    days before a deduction still owed is taken from the balance."""
    return await services.update_settings(actor, data)


@post(
    "/api/v1/payment_settings/split_service",
    operation_id="request_split_service",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["payments"],
    status_code=200,
)
async def request_split_service(actor: Actor) -> PaymentSettingsOut:
    """Activate split settlement: UPDATING until the provider verifies it."""
    return await services.request_split_service(actor)


@post(
    "/api/v1/payment_settings/split_service/refresh",
    operation_id="refresh_split_service",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["payments"],
    status_code=200,
)
async def refresh_split_service(actor: Actor) -> PaymentSettingsOut:
    """Ask the provider again whether it has verified split settlement (UPDATING → ACTIVE)."""
    return await services.refresh_split_service(actor)


ROUTES = [
    create_payment,
    list_payments,
    retrieve_payment,
    refund_payment,
    update_split,
    simulate_payment,
    create_split_rule,
    list_split_rules,
    preview_split,
    retrieve_split_rule,
    update_split_rule,
    delete_split_rule,
    list_settlements,
    retrieve_settlement,
    apply_settlement,
    list_settlement_deductions,
    retrieve_payment_settings,
    update_payment_settings,
    request_split_service,
    refresh_split_service,
]
