"""Payouts JSON API (/api/v1/beneficiaries, /api/v1/rails): thin controllers over payouts.services."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Response, delete, get, patch, post

from portal.domains.payouts import batches, lifecycle, proof, services
from portal.domains.payouts.schemas import (
    ApprovalIn,
    BatchCreate,
    BatchDetail,
    BatchPage,
    BeneficiaryCreate,
    BeneficiaryOut,
    BeneficiaryPage,
    PayoutCreate,
    PayoutOut,
    PayoutPage,
    PayoutSettingsOut,
    QuoteOut,
    RailList,
    RejectionIn,
)
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

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


@post(
    "/api/v1/payouts",
    operation_id="create_payout",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payouts"],
)
async def create_payout(actor: Actor, data: PayoutCreate) -> PayoutOut:
    """Pay out to a beneficiary: amount + fee are held at once; above the business's approval threshold
    it awaits another user's approval, otherwise it is scheduled and sent when its rail is open."""
    return await lifecycle.create_payout(
        actor,
        beneficiary_id=data.beneficiary_id,
        amount=data.amount,
        reference=data.reference,
        rail=data.rail,
        description=data.description,
    )


@get(
    "/api/v1/payouts",
    operation_id="list_payouts",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payouts"],
)
async def list_payouts(
    actor: Actor,
    status: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> PayoutPage:
    """Payouts in scope, newest first, cursor-paginated."""
    return await lifecycle.list_payouts(actor, status=status, account_id=account_id, limit=limit, after=after)


@get(
    "/api/v1/payouts/{payout_id:str}",
    operation_id="retrieve_payout",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payouts"],
)
async def retrieve_payout(actor: Actor, payout_id: str) -> PayoutOut:
    """One payout with its state, rail, fee, ETA and (once paid) the bank's reference."""
    return await lifecycle.get_payout(actor, payout_id)


@post(
    "/api/v1/payouts/{payout_id:str}/cancel",
    operation_id="cancel_payout",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payouts"],
    status_code=200,
)
async def cancel_payout(actor: Actor, payout_id: str) -> PayoutOut:
    """Cancel a payout not yet sent (awaiting approval or scheduled): the held money is available again."""
    return await lifecycle.cancel_payout(actor, payout_id)


@post(
    "/api/v1/payouts/{payout_id:str}/approve",
    operation_id="approve_payout",
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
    tags=["payouts"],
    status_code=200,
    before_request=object_first(lifecycle.find_payout, "payout_id"),
)
async def approve_payout(actor: Actor, payout_id: str, data: ApprovalIn) -> PayoutOut:
    """Approve a payout awaiting approval with your authenticator code (a signed-in user other than its
    maker; an API key cannot approve)."""
    return await lifecycle.approve_payout(actor, payout_id, data.code)


@post(
    "/api/v1/payouts/{payout_id:str}/reject",
    operation_id="reject_payout",
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
    tags=["payouts"],
    status_code=200,
    before_request=object_first(lifecycle.find_payout, "payout_id"),
)
async def reject_payout(actor: Actor, payout_id: str, data: RejectionIn) -> PayoutOut:
    """Reject a payout awaiting approval: its held money is available again at once."""
    return await lifecycle.reject_payout(actor, payout_id, data.reason)


@get(
    "/api/v1/payouts/{payout_id:str}/proof",
    operation_id="download_payout_proof",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payouts"],
    media_type="application/pdf",
)
async def payout_proof(actor: Actor, payout_id: str) -> Response[bytes]:
    """The proof of payment of a succeeded payout (PDF)."""
    filename, body = await proof.proof_pdf(actor, payout_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post(
    "/api/v1/payout_batches",
    operation_id="create_payout_batch",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payout_batches"],
)
async def create_payout_batch(actor: Actor, data: BatchCreate) -> BatchDetail:
    """Upload a CSV or XLSX file (base64) of up to 10,000 rows (columns reference, amount, code,
    account_number, holder_name, description, email): every row is validated, with its errors on the
    row and column. A file refused whole (formulas, wrong columns, too many rows, not UTF-8, an XLSX
    bomb) is a 422 with the row and column in the pointer; nothing is written."""
    try:
        content = base64.b64decode(data.content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            N_("content must be the file, base64-encoded."),
            code="invalid_content",
            errors=[FieldError("/content", N_("not base64"))],
        ) from None
    batch_id = await batches.upload_batch(actor, data.filename, content, account_id=data.account_id)
    return await batches.batch_detail(actor, batch_id)


@get(
    "/api/v1/payout_batches",
    operation_id="list_payout_batches",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payout_batches"],
)
async def list_payout_batches(actor: Actor) -> BatchPage:
    """The business's recent batches with their totals and progress, newest first."""
    found = await batches.list_batches(actor)
    return BatchPage([batches.batch_out(b) for b in found], False, None)


@get(
    "/api/v1/payout_batches/{batch_id:str}",
    operation_id="retrieve_payout_batch",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payout_batches"],
)
async def retrieve_payout_batch(actor: Actor, batch_id: str) -> BatchDetail:
    """A batch with its rows, their errors and (once submitted) each row's payout state."""
    return await batches.batch_detail(actor, batch_id)


@post(
    "/api/v1/payout_batches/{batch_id:str}/submit",
    operation_id="submit_payout_batch",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payout_batches"],
    status_code=200,
)
async def submit_payout_batch(actor: Actor, batch_id: str) -> BatchDetail:
    """Submit a batch without invalid rows for approval: one payout per row, each held."""
    await batches.submit_batch(actor, batch_id)
    return await batches.batch_detail(actor, batch_id)


@post(
    "/api/v1/payout_batches/{batch_id:str}/approve",
    operation_id="approve_payout_batch",
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
    tags=["payout_batches"],
    status_code=200,
    before_request=object_first(batches.find_batch, "batch_id"),
)
async def approve_payout_batch(actor: Actor, batch_id: str, data: ApprovalIn) -> BatchDetail:
    """Approve a submitted batch with the approver's authenticator code (a signed-in user other than the
    maker; an API key gets 422 `approver_not_a_user`)."""
    await batches.approve_batch(actor, batch_id, data.code)
    return await batches.batch_detail(actor, batch_id)


@post(
    "/api/v1/payout_batches/{batch_id:str}/rows/{row_no:str}/accept_name",
    operation_id="accept_payout_batch_row_name",
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
    tags=["payout_batches"],
    status_code=200,
    before_request=object_first(batches.find_batch, "batch_id"),
)
async def accept_payout_batch_row_name(actor: Actor, batch_id: str, row_no: str) -> BatchDetail:
    """Accept the bank's holder name on a row whose typed name differs (an approver other than the
    maker; in the activity log): the row no longer holds the batch's approval back."""
    await batches.accept_name(actor, batch_id, batches.row_number(row_no))
    return await batches.batch_detail(actor, batch_id)


@post(
    "/api/v1/payout_batches/{batch_id:str}/check_names",
    operation_id="check_payout_batch_names",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payout_batches"],
    status_code=200,
    before_request=object_first(batches.find_batch, "batch_id"),
)
async def check_payout_batch_names(actor: Actor, batch_id: str) -> BatchDetail:
    """Ask the provider's name inquiry again for the rows it could not answer (`unavailable`, not
    accepted) and rows never checked: they become `pending` and are checked by a job (409
    `no_names_to_check` when there are none)."""
    await batches.check_names_again(actor, batch_id)
    return await batches.batch_detail(actor, batch_id)


@get(
    "/api/v1/payout_settings",
    operation_id="retrieve_payout_settings",
    guards=[requires("payouts")],
    dependencies=DEPS,
    tags=["payouts"],
)
async def retrieve_payout_settings(actor: Actor) -> PayoutSettingsOut:
    """The approval threshold (whole rupiah; null: none) and the beneficiary cool-down (seconds)."""
    return await services.get_settings(actor)


@patch(
    "/api/v1/payout_settings",
    operation_id="update_payout_settings",
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
    tags=["payouts"],
)
async def update_payout_settings(actor: Actor, data: dict[str, Any]) -> PayoutSettingsOut:
    """Change `approval_threshold` (whole rupiah, 0 or more, null for none) and/or
    `beneficiary_cooldown_s` (0 to 604800); only the fields sent change (a whole-business right)."""
    return await services.update_settings(actor, data)


ROUTES = [
    retrieve_payout_settings,
    update_payout_settings,
    create_payout_batch,
    list_payout_batches,
    retrieve_payout_batch,
    submit_payout_batch,
    approve_payout_batch,
    accept_payout_batch_row_name,
    check_payout_batch_names,
    create_payout,
    list_payouts,
    retrieve_payout,
    cancel_payout,
    approve_payout,
    reject_payout,
    payout_proof,
    create_beneficiary,
    list_beneficiaries,
    retrieve_beneficiary,
    set_default_beneficiary,
    delete_beneficiary,
    list_rails,
    quote_rail,
]
