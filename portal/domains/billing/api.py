"""Card billing JSON API (/api/v1/customers, /api/v1/billings, /api/v1/charges): thin controllers over
billing.services."""

from __future__ import annotations

from litestar import delete, get, patch, post

from portal.domains.billing import services
from portal.domains.billing.schemas import (
    BatchCreate,
    BatchOut,
    BatchPage,
    BillingCreate,
    BillingOut,
    BillingPage,
    CardRegistrationStart,
    ChangeType,
    ChargeOut,
    ChargePage,
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    DeleteExecuteDate,
    RefundIn,
    ScheduledDatePage,
    ScheduleIn,
)
from portal.domains.billing.services import batches
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}
VIEW = [requires("billing")]
MANAGE = [requires("billing", "manage")]


@post(
    "/api/v1/customers", operation_id="create_customer", guards=MANAGE, dependencies=DEPS, tags=["customers"]
)
async def create_customer(actor: Actor, data: CustomerCreate) -> CustomerOut:
    """Add a card billing customer (Customer ID unique in the business)."""
    return await services.create_customer(
        actor, customer_id=data.customer_id, name=data.name, email=data.email, phone=data.phone
    )


@get("/api/v1/customers", operation_id="list_customers", guards=VIEW, dependencies=DEPS, tags=["customers"])
async def list_customers(
    actor: Actor, search: str | None = None, limit: int | None = None, after: str | None = None
) -> CustomerPage:
    """Customers, newest first, cursor-paginated; `search` matches Customer ID or name."""
    return await services.list_customers(actor, search=search, limit=limit, after=after)


@get(
    "/api/v1/customers/{customer_id:str}",
    operation_id="retrieve_customer",
    guards=VIEW,
    dependencies=DEPS,
    tags=["customers"],
)
async def retrieve_customer(actor: Actor, customer_id: str) -> CustomerOut:
    """One customer, by id (`cus_…`) or Customer ID."""
    return await services.get_customer(actor, customer_id)


@patch(
    "/api/v1/customers/{customer_id:str}",
    operation_id="update_customer",
    before_request=object_first(services.find_customer, "customer_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["customers"],
)
async def update_customer(actor: Actor, customer_id: str, data: CustomerUpdate) -> CustomerOut:
    """Change the customer's name, e-mail or phone."""
    changes = {k: getattr(data, k) for k in ("name", "email", "phone") if getattr(data, k) is not None}
    return await services.update_customer(actor, customer_id, changes)


@post("/api/v1/billings", operation_id="create_billing", guards=MANAGE, dependencies=DEPS, tags=["billings"])
async def create_billing(actor: Actor, data: BillingCreate) -> BillingOut:
    """Add a billing (Billing Number unique in the business) with its type and schedule."""
    return await services.create_billing(
        actor,
        customer_id=data.customer_id,
        billing_number=data.billing_number,
        amount=data.amount,
        account_id=data.account_id,
        currency=data.currency,
        description=data.description,
        type=data.type,
        schedule=data.schedule,
    )


@get("/api/v1/billings", operation_id="list_billings", guards=VIEW, dependencies=DEPS, tags=["billings"])
async def list_billings(
    actor: Actor,
    search: str | None = None,
    customer_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> BillingPage:
    """Billings, newest first; `search` matches a Billing Number or Customer ID (prefix)."""
    return await services.list_billings(actor, search=search, customer=customer_id, limit=limit, after=after)


@get(
    "/api/v1/billings/{billing_id:str}",
    operation_id="retrieve_billing",
    guards=VIEW,
    dependencies=DEPS,
    tags=["billings"],
)
async def retrieve_billing(actor: Actor, billing_id: str) -> BillingOut:
    """One billing with its next execute dates and card (masked)."""
    return await services.get_billing(actor, billing_id)


@post(
    "/api/v1/billings/{billing_id:str}/schedule",
    operation_id="update_billing_schedule",
    before_request=object_first(services.find_billing, "billing_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def update_schedule(actor: Actor, billing_id: str, data: ScheduleIn) -> BillingOut:
    """Edit Date: a Date, Day or Full Date schedule; the future execute dates are replaced."""
    return await services.set_schedule(actor, billing_id, data)


@post(
    "/api/v1/billings/{billing_id:str}/activate",
    operation_id="activate_billing",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def activate(actor: Actor, billing_id: str) -> BillingOut:
    """Run the billing again from today."""
    return await services.set_active(actor, billing_id, True)


@post(
    "/api/v1/billings/{billing_id:str}/inactivate",
    operation_id="inactivate_billing",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def inactivate(actor: Actor, billing_id: str) -> BillingOut:
    """Keep the billing but do not run it."""
    return await services.set_active(actor, billing_id, False)


@post(
    "/api/v1/billings/{billing_id:str}/type",
    operation_id="change_billing_type",
    before_request=object_first(services.find_billing, "billing_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def change_type(actor: Actor, billing_id: str, data: ChangeType) -> BillingOut:
    """Recurring (charges the card) or Reminder (an event and an e-mail, no charge)."""
    return await services.change_type(actor, billing_id, data.type)


@delete(
    "/api/v1/billings/{billing_id:str}",
    operation_id="delete_billing",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
)
async def delete_billing(actor: Actor, billing_id: str) -> None:
    """Delete the billing (its past charges stay)."""
    await services.delete_billing(actor, billing_id)


@post(
    "/api/v1/billings/{billing_id:str}/execute-dates/delete",
    operation_id="delete_billing_execute_date",
    before_request=object_first(services.find_billing, "billing_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def delete_execute_date(actor: Actor, billing_id: str, data: DeleteExecuteDate) -> BillingOut:
    """Cancel one upcoming execute date, or by its Invoice Number a scheduled single payment (cancelled,
    never charged) or a date."""
    return await services.delete_execute_date(
        actor, billing_id, data.execute_date, data.otp, invoice_number=data.invoice_number
    )


@get(
    "/api/v1/execute-dates",
    operation_id="list_scheduled_dates",
    guards=VIEW,
    dependencies=DEPS,
    tags=["billings"],
)
async def list_scheduled_dates(
    actor: Actor, billing_number: str | None = None, invoice_number: str | None = None
) -> ScheduledDatePage:
    """Execute dates not yet run (a billing's dates and its scheduled single payments) by Billing Number
    and/or Invoice Number, soonest first; delete one with `…/billings/{id}/execute-dates/delete`."""
    return await services.scheduled_dates(actor, billing_number=billing_number, invoice_number=invoice_number)


@post(
    "/api/v1/billings/{billing_id:str}/card-registration",
    operation_id="start_card_registration",
    before_request=object_first(services.find_billing, "billing_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def start_card_registration(actor: Actor, billing_id: str, data: CardRegistrationStart) -> BillingOut:
    """Open the provider's hosted page where the customer types the card; `card.hosted_url` is its
    address, the customer returns to `return_url`."""
    return await services.start_card_registration(actor, billing_id, data.return_url)


@post(
    "/api/v1/billings/{billing_id:str}/card-registration/refresh",
    operation_id="refresh_card_registration",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billings"],
    status_code=200,
)
async def refresh_card_registration(actor: Actor, billing_id: str) -> BillingOut:
    """Read the registration's result from the provider now (the callback does the same)."""
    return await services.complete_card_registration(actor, billing_id)


@get("/api/v1/charges", operation_id="list_charges", guards=VIEW, dependencies=DEPS, tags=["charges"])
async def list_charges(
    actor: Actor,
    billing_number: str | None = None,
    invoice_number: str | None = None,
    approval_code: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> ChargePage:
    """Charges, newest first; exact Billing Number, Invoice Number, Approval Code, status."""
    return await services.list_charges(
        actor,
        billing_number=billing_number,
        invoice_number=invoice_number,
        approval_code=approval_code,
        status=status,
        limit=limit,
        after=after,
    )


@get(
    "/api/v1/charges/{charge_id:str}",
    operation_id="retrieve_charge",
    guards=VIEW,
    dependencies=DEPS,
    tags=["charges"],
)
async def retrieve_charge(actor: Actor, charge_id: str) -> ChargeOut:
    """One charge with the bank's answer (response code, approval code, issuer)."""
    return await services.get_charge(actor, charge_id)


@post(
    "/api/v1/charges/{charge_id:str}/void",
    operation_id="void_charge",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["charges"],
    status_code=200,
)
async def void_charge(actor: Actor, charge_id: str) -> ChargeOut:
    """Void a paid charge on its business day, before settlement."""
    return await services.void_charge(actor, charge_id)


@post(
    "/api/v1/charges/{charge_id:str}/refund",
    operation_id="refund_charge",
    before_request=object_first(services.find_charge, "charge_id"),
    guards=MANAGE,
    dependencies=DEPS,
    tags=["charges"],
    status_code=200,
)
async def refund_charge(actor: Actor, charge_id: str, data: RefundIn) -> ChargeOut:
    """Refund a paid charge in full (no amount) or in part."""
    return await services.refund_charge(actor, charge_id, data.amount, data.reason)


@post(
    "/api/v1/billing-batches",
    operation_id="create_billing_batch",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billing batches"],
)
async def create_billing_batch(actor: Actor, data: BatchCreate) -> BatchOut:
    """Upload a Registration or Batch Transaction file (CSV or XLSX, base64): every row validated,
    answered with the rows and their reasons; process it once it has no invalid row."""
    return await batches.upload_base64(actor, data.kind, data.file_name, data.content_base64)


@get(
    "/api/v1/billing-batches",
    operation_id="list_billing_batches",
    guards=VIEW,
    dependencies=DEPS,
    tags=["billing batches"],
)
async def list_billing_batches(actor: Actor, limit: int | None = None, after: str | None = None) -> BatchPage:
    """Batch Report: uploaded files, latest first."""
    return await batches.batch_page(actor, limit=limit, after=after)


@get(
    "/api/v1/billing-batches/{batch_id:str}",
    operation_id="retrieve_billing_batch",
    guards=VIEW,
    dependencies=DEPS,
    tags=["billing batches"],
)
async def retrieve_billing_batch(actor: Actor, batch_id: str) -> BatchOut:
    """One file with its rows and their reasons."""
    return await batches.get_batch(actor, batch_id)


@post(
    "/api/v1/billing-batches/{batch_id:str}/process",
    operation_id="process_billing_batch",
    guards=MANAGE,
    dependencies=DEPS,
    tags=["billing batches"],
    status_code=200,
)
async def process_billing_batch(actor: Actor, batch_id: str) -> BatchOut:
    """Process a file without invalid rows (once)."""
    return await batches.process_batch(actor, batch_id)


ROUTES = [
    create_customer,
    list_customers,
    retrieve_customer,
    update_customer,
    create_billing,
    list_billings,
    retrieve_billing,
    update_schedule,
    activate,
    inactivate,
    change_type,
    delete_billing,
    delete_execute_date,
    list_scheduled_dates,
    start_card_registration,
    refresh_card_registration,
    list_charges,
    retrieve_charge,
    void_charge,
    refund_charge,
    create_billing_batch,
    list_billing_batches,
    retrieve_billing_batch,
    process_billing_batch,
]
