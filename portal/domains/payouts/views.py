"""Payouts pages: the rails with their limits, fees, hours and the next business days (editing the
business's own terms with the manage right), and the book of beneficiaries (list, add with the name
inquiry and a confirmation when the holder's name differs, detail, set default, delete).
Thin controllers over payouts.services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from portal.domains.accounts import services as accounts
from portal.domains.payouts import batches, labels, lifecycle, proof, services
from portal.domains.payouts.router import WALLETS
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, ValidationFailed
from portal.lib.i18n import babel_locale, gettext
from portal.lib.money import parse_amount
from portal.server.guards import ACTOR_DEPENDENCY, requires, signed_in
from portal.server.templating import page

DEPS = {"actor": ACTOR_DEPENDENCY}


def errors_dict(errors: list[FieldError], detail: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.pointer.strip("/").split("/")[-1] or "__all__", []).append(error.detail)
    if not out and detail:
        out["__all__"] = [detail]
    return out


async def form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


def _form_refusal(exc: NeracaError) -> bool:
    return exc.status in (409, 422) or (exc.status == 404 and bool(exc.errors))


async def _rails_context(actor: Actor, edit: str | None = None) -> dict[str, Any]:
    listing = await services.list_rails(actor)
    can_manage = actor.can("payouts", "manage") and actor.scope_account_id is None
    return {
        "editing": next((r for r in listing.data if r.code == edit), None) if can_manage else None,
        "rails": [
            {
                "rail": rail,
                "destination": labels.destination_label(rail.destination),
                "hours": labels.hours_label(rail),
            }
            for rail in listing.data
        ],
        "business_days": listing.next_business_days,
        "settings": await services.get_settings(actor),
        "can_manage": can_manage,
        "errors": {},
    }


@get(
    "/payouts",
    operation_id="payouts_rails",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_rails(
    request: Request[Any, Any, Any], actor: Actor, edit: str | None = None
) -> Response[str]:
    return page(request, "payouts/rails.html", await _rails_context(actor, edit))


@post(
    "/payouts/rails/{code:str}",
    operation_id="payouts_rail_terms",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_rail_terms(request: Request[Any, Any, Any], actor: Actor, code: str) -> Response[Any]:
    data = await form(request)
    try:
        await services.set_rail_terms(
            actor,
            code,
            fee=data.get("fee", ""),
            min_amount=data.get("min_amount", ""),
            max_amount=data.get("max_amount", ""),
            active=data.get("active") == "1",
        )
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _rails_context(actor, code)
        context.update(errors=errors_dict(exc.errors, exc.detail))
        return page(request, "payouts/rails.html", context, status_code=422)
    return Redirect("/payouts", status_code=303)


async def _settings_context(actor: Actor) -> dict[str, Any]:
    settings = await services.get_settings(actor)
    threshold = settings.approval_threshold
    return {
        "can_manage": actor.can("payouts", "manage") and actor.scope_account_id is None,
        "form": {
            "approval_threshold": "" if threshold is None else str(threshold),
            "cooldown_minutes": str(settings.beneficiary_cooldown_s // 60),
        },
        "settings": settings,
        "errors": {},
    }


@get(
    "/payouts/settings",
    operation_id="payouts_settings_page",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_settings_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return page(request, "payouts/settings.html", await _settings_context(actor))


@post(
    "/payouts/settings",
    operation_id="payouts_settings",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_settings(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Only the fields the form sends change (the rails page sends the cool-down alone)."""
    data = await form(request)
    changes: dict[str, Any] = {}
    try:
        if "approval_threshold" in data:
            typed = data["approval_threshold"].strip()
            if not typed:
                changes["approval_threshold"] = None
            elif typed.removeprefix("Rp").strip().strip("0.,") == "":
                changes["approval_threshold"] = 0  # every payout awaits approval (parse_amount refuses 0)
            else:
                changes["approval_threshold"] = parse_amount(
                    typed, "IDR", locale=babel_locale(), pointer="approval_threshold"
                )
        if "cooldown_minutes" in data:
            minutes = data["cooldown_minutes"].strip()
            changes["beneficiary_cooldown_s"] = int(minutes) * 60 if minutes.isdigit() else minutes or None
        await services.update_settings(actor, changes)
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _settings_context(actor)
        errors = errors_dict(exc.errors, exc.detail)
        if "beneficiary_cooldown_s" in errors:
            errors["cooldown_minutes"] = errors.pop("beneficiary_cooldown_s")
        context.update(form={**context["form"], **data}, errors=errors)
        return page(request, "payouts/settings.html", context, status_code=422)
    return Redirect("/payouts/settings", status_code=303)


async def _book_context(actor: Actor, *, after: str | None = None) -> dict[str, Any]:
    book = await services.list_beneficiaries(actor, after=after)
    can_manage = actor.can("payouts", "manage")
    return {
        "beneficiaries": book.data,
        "next_url": f"/payouts/beneficiaries?after={book.next_cursor}" if book.next_cursor else None,
        "banks": await accounts.list_banks(),
        "wallets": [(w, labels.destination_label(w)) for w in WALLETS],
        "owners": await accounts.list_for_picker(actor) if can_manage else [],
        "kinds": [("bank", gettext("Bank account")), ("ewallet", gettext("E-wallet"))],
        "can_manage": can_manage,
        "form": {"kind": "bank"},
        "errors": {},
        "mismatch_holder": None,
        "mask": services.mask,
        "destination_label": labels.destination_label,
    }


@get(
    "/payouts/beneficiaries",
    operation_id="payouts_beneficiaries",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_beneficiaries(
    request: Request[Any, Any, Any], actor: Actor, after: str | None = None
) -> Response[str]:
    return page(request, "payouts/beneficiaries.html", await _book_context(actor, after=after))


@post(
    "/payouts/beneficiaries",
    operation_id="payouts_beneficiary_add",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_beneficiary_add(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    data = await form(request)
    kind = data.get("kind", "")
    try:
        created = await services.add_beneficiary(
            actor,
            kind=kind,
            holder_name=data.get("holder_name", ""),
            account_id=data.get("account_id") or None,
            bank_code=data.get("bank_code") if kind == "bank" else None,
            account_number=data.get("account_number") if kind == "bank" else None,
            wallet=data.get("wallet") if kind == "ewallet" else None,
            phone=data.get("phone") if kind == "ewallet" else None,
            label=data.get("label") or None,
            is_default=data.get("is_default") == "1",
            confirm_holder_name=data.get("confirm_holder_name") or None,
        )
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _book_context(actor)
        context.update(
            form=data,
            errors=errors_dict(exc.errors, exc.detail),
            message=exc.detail,
            mismatch_holder=exc.extra.get("holder_name") if exc.code == "name_mismatch" else None,
        )
        return page(request, "payouts/beneficiaries.html", context, status_code=422)
    return Redirect(f"/payouts/beneficiaries/{created.id}", status_code=303)


@get(
    "/payouts/beneficiaries/{beneficiary_id:str}",
    operation_id="payouts_beneficiary",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_beneficiary(
    request: Request[Any, Any, Any], actor: Actor, beneficiary_id: str
) -> Response[str]:
    beneficiary = await services.get_beneficiary(actor, beneficiary_id)
    banks = dict(await accounts.list_banks())
    context = {
        "b": beneficiary,
        "bank_name": banks.get(beneficiary.bank_code or "", beneficiary.bank_code),
        "destination": labels.destination_label(beneficiary.wallet) if beneficiary.wallet else None,
        "kind": labels.kind_label(beneficiary.kind),
        "masked": services.mask(beneficiary.account_number),
        "can_manage": actor.can("payouts", "manage"),
    }
    return page(request, "payouts/beneficiary.html", context)


@post(
    "/payouts/beneficiaries/{beneficiary_id:str}/default",
    operation_id="payouts_beneficiary_default",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_beneficiary_default(actor: Actor, beneficiary_id: str) -> Redirect:
    await services.set_default(actor, beneficiary_id)
    return Redirect(f"/payouts/beneficiaries/{beneficiary_id}", status_code=303)


@post(
    "/payouts/beneficiaries/{beneficiary_id:str}/delete",
    operation_id="payouts_beneficiary_delete",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_beneficiary_delete(actor: Actor, beneficiary_id: str) -> Redirect:
    await services.delete_beneficiary(actor, beneficiary_id)
    return Redirect("/payouts/beneficiaries", status_code=303)


# --- payouts, proof of payment, approvals ----------------------------------------------------------


async def _payouts_context(actor: Actor, *, after: str | None = None) -> dict[str, Any]:
    listing = await lifecycle.list_payouts(actor, after=after)
    can_manage = actor.can("payouts", "manage")
    book = await services.list_beneficiaries(actor, limit=200) if can_manage else None
    return {
        "payouts": listing.data,
        "next_url": f"/payouts/history?after={listing.next_cursor}" if listing.next_cursor else None,
        "beneficiaries": [
            (b.id, f"{b.holder_name} · {services.mask(b.account_number)}")
            for b in (book.data if book else [])
        ],
        "rails": [(r.code, r.name) for r in await services.load_rails(actor.business_id) if r.active],
        "threshold": await lifecycle.approval_threshold(actor.business_id),
        "can_manage": can_manage,
        "status_label": labels.payout_status_label,
        "form": {},
        "errors": {},
    }


@get(
    "/payouts/history",
    operation_id="payouts_history",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_history(
    request: Request[Any, Any, Any], actor: Actor, after: str | None = None
) -> Response[str]:
    return page(request, "payouts/payouts.html", await _payouts_context(actor, after=after))


@post(
    "/payouts/history",
    operation_id="payouts_create",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    data = await form(request)
    try:
        amount: Any = parse_amount(data.get("amount", ""), "IDR", locale=babel_locale(), pointer="amount")
        created = await lifecycle.create_payout(
            actor,
            beneficiary_id=data.get("beneficiary_id", ""),
            amount=amount,
            reference=data.get("reference", ""),
            rail=data.get("rail") or None,
            description=data.get("description") or None,
        )
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _payouts_context(actor)
        context.update(form=data, errors=errors_dict(exc.errors, exc.detail), message=exc.detail)
        return page(request, "payouts/payouts.html", context, status_code=422)
    return Redirect(f"/payouts/{created.id}", status_code=303)


@get(
    "/payouts/verify",
    operation_id="payouts_verify",
    include_in_schema=False,
    guards=[signed_in],
    dependencies=DEPS,
)
async def payouts_verify(
    request: Request[Any, Any, Any], actor: Actor, payout_id: str | None = None, code: str | None = None
) -> Response[str]:
    """Any signed-in user may check a proof of payment's verification code."""
    context: dict[str, Any] = {"payout_id": payout_id or "", "code": code or "", "check": None, "error": None}
    if payout_id or code:
        try:
            context["check"] = await proof.verify_proof(actor, payout_id, code)
        except NeracaError as exc:
            if not _form_refusal(exc):
                raise
            context["error"] = exc.detail
    return page(request, "payouts/verify.html", context)


@get(
    "/payouts/{payout_id:str}",
    operation_id="payouts_payout",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_payout(request: Request[Any, Any, Any], actor: Actor, payout_id: str) -> Response[str]:
    payout = await lifecycle.get_payout(actor, payout_id)
    rows = None
    if payout.status in ("succeeded", "reversed"):
        rows = proof.proof_rows(payout, await proof.bank_name(payout.bank_code))
    context = {
        "p": payout,
        "status": labels.payout_status_label(payout.status),
        "proof_rows": rows,
        "can_cancel": actor.can("payouts", "manage") and payout.status in ("awaiting_approval", "scheduled"),
    }
    return page(request, "payouts/payout.html", context)


@get(
    "/payouts/{payout_id:str}/proof.pdf",
    operation_id="payouts_proof_pdf",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_proof_pdf(actor: Actor, payout_id: str) -> Response[bytes]:
    filename, body = await proof.proof_pdf(actor, payout_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post(
    "/payouts/{payout_id:str}/cancel",
    operation_id="payouts_cancel",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_cancel(actor: Actor, payout_id: str) -> Redirect:
    await lifecycle.cancel_payout(actor, payout_id)
    return Redirect(f"/payouts/{payout_id}", status_code=303)


async def _queue_context(actor: Actor) -> dict[str, Any]:
    waiting = await lifecycle.list_payouts(actor, status="awaiting_approval", limit=200)
    pending_batches = await batches.batches_awaiting(actor)
    singles = [p for p in waiting.data if p.approval_reason != "batch"]
    return {
        "payouts": singles,
        "batches": pending_batches,
        "count": len(singles) + len(pending_batches),
        "reason_label": labels.approval_reason_label,
        "errors": {},
        "failed_id": None,
    }


@get(
    "/approvals",
    operation_id="approvals_queue",
    include_in_schema=False,
    guards=[requires("approvals")],
    dependencies=DEPS,
)
async def approvals_queue(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return page(request, "approvals/queue.html", await _queue_context(actor))


@get(
    "/approvals/count",
    operation_id="approvals_count",
    include_in_schema=False,
    guards=[requires("approvals")],
    dependencies=DEPS,
)
async def approvals_count(actor: Actor) -> Response[str]:
    """The sidebar's count of payouts awaiting approval (an empty badge when none)."""
    count = await lifecycle.count_awaiting_approval(actor)
    label = gettext("awaiting approval")
    body = (
        f'<span class="nav__count badge" title="{label}">{count}</span>'
        if count
        else '<span class="nav__count"></span>'
    )
    return Response(body, media_type="text/html")


async def _decide(
    request: Request[Any, Any, Any], actor: Actor, payout_id: str, approve: bool
) -> Response[Any]:
    await lifecycle.find_payout(actor, payout_id)  # another business's or out of scope: 404, not a form
    data = await form(request)
    try:
        if approve:
            await lifecycle.approve_payout(actor, payout_id, data.get("code", ""))
        else:
            await lifecycle.reject_payout(actor, payout_id, data.get("reason", ""))
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _queue_context(actor)
        context.update(errors=errors_dict(exc.errors, exc.detail), failed_id=payout_id, message=exc.detail)
        return page(request, "approvals/queue.html", context, status_code=422)
    return Redirect("/approvals", status_code=303)


@post(
    "/approvals/{payout_id:str}/approve",
    operation_id="approvals_approve",
    include_in_schema=False,
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
)
async def approvals_approve(request: Request[Any, Any, Any], actor: Actor, payout_id: str) -> Response[Any]:
    return await _decide(request, actor, payout_id, True)


@post(
    "/approvals/{payout_id:str}/reject",
    operation_id="approvals_reject",
    include_in_schema=False,
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
)
async def approvals_reject(request: Request[Any, Any, Any], actor: Actor, payout_id: str) -> Response[Any]:
    return await _decide(request, actor, payout_id, False)


# --- batch payouts --------------------------------------------------------------------------------


@get(
    "/payouts/batches",
    operation_id="payouts_batches",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_batches(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    context = {
        "batches": await batches.list_batches(actor),
        "can_manage": actor.can("payouts", "manage"),
        "error": None,
    }
    return page(request, "payouts/batches.html", context)


@get(
    "/payouts/batches/template.csv",
    operation_id="payouts_batch_template",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_batch_template() -> Response[str]:
    return Response(
        batches.TEMPLATE,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="batch-payouts-template.csv"'},
    )


@post(
    "/payouts/batches",
    operation_id="payouts_batch_upload",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_upload(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    data = await request.form()
    upload = data.get("file")
    try:
        if upload is None or isinstance(upload, str):
            raise ValidationFailed(
                gettext("Choose a CSV or XLSX file."),
                code="file_required",
                errors=[FieldError("/file", gettext("required"))],
            )
        content = await upload.read()
        batch_id = await batches.upload_batch(actor, upload.filename or "batch.csv", content)
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = {"batches": await batches.list_batches(actor), "can_manage": True, "error": exc.detail}
        return page(request, "payouts/batches.html", context, status_code=422)
    return Redirect(f"/payouts/batches/{batch_id}", status_code=303)


async def _batch_context(actor: Actor, batch_id: str) -> dict[str, Any]:
    rows = await batches.batch_rows(actor, batch_id, limit=1000)
    return {
        "b": await batches.get_batch(actor, batch_id),
        "rows": rows,
        # Rows a "Check again" would ask the bank about: never checked, still pending, or unavailable.
        "names_to_check": any(
            r["name_status"] in (None, "pending")
            or (r["name_status"] == "unavailable" and not r["name_accepted_by_name"])
            for r in rows
        ),
        "can_manage": actor.can("payouts", "manage"),
        "can_approve": actor.can("approvals", "manage"),
        "status_label": labels.payout_status_label,
        "name_label": labels.batch_name_status_label,
        "columns": batches.upload.COLUMNS,
        "error": None,
    }


@get(
    "/payouts/batches/{batch_id:str}",
    operation_id="payouts_batch",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_batch(request: Request[Any, Any, Any], actor: Actor, batch_id: str) -> Response[str]:
    return page(request, "payouts/batch.html", await _batch_context(actor, batch_id))


@get(
    "/payouts/batches/{batch_id:str}/export.csv",
    operation_id="payouts_batch_export",
    include_in_schema=False,
    guards=[requires("payouts")],
    dependencies=DEPS,
)
async def payouts_batch_export(actor: Actor, batch_id: str) -> Response[str]:
    filename, body = await batches.export_batch(actor, batch_id)
    return Response(
        body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def _batch_action(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str, action: Any
) -> Response[Any]:
    await batches.find_batch(actor, batch_id)  # another business's or out of scope: 404, not a form
    try:
        await action(await form(request))
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _batch_context(actor, batch_id)
        context.update(error=exc.detail)
        return page(request, "payouts/batch.html", context, status_code=422)
    return Redirect(f"/payouts/batches/{batch_id}", status_code=303)


@post(
    "/payouts/batches/{batch_id:str}/rows/{row_no:str}",
    operation_id="payouts_batch_row_fix",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_row_fix(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str, row_no: str
) -> Response[Any]:
    number = batches.row_number(row_no)

    async def fix(data: dict[str, str]) -> None:
        await batches.fix_row(
            actor, batch_id, number, {k: v for k, v in data.items() if k in batches.upload.COLUMNS}
        )

    return await _batch_action(request, actor, batch_id, fix)


@post(
    "/payouts/batches/{batch_id:str}/rows/{row_no:str}/delete",
    operation_id="payouts_batch_row_delete",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_row_delete(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str, row_no: str
) -> Response[Any]:
    number = batches.row_number(row_no)

    async def delete(_data: dict[str, str]) -> None:
        await batches.delete_row(actor, batch_id, number)

    return await _batch_action(request, actor, batch_id, delete)


@post(
    "/payouts/batches/{batch_id:str}/submit",
    operation_id="payouts_batch_submit",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_submit(request: Request[Any, Any, Any], actor: Actor, batch_id: str) -> Response[Any]:
    async def submit(_data: dict[str, str]) -> None:
        await batches.submit_batch(actor, batch_id)

    return await _batch_action(request, actor, batch_id, submit)


@post(
    "/payouts/batches/{batch_id:str}/rows/{row_no:str}/accept_name",
    operation_id="payouts_batch_row_accept_name",
    include_in_schema=False,
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_row_accept_name(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str, row_no: str
) -> Response[Any]:
    number = batches.row_number(row_no)

    async def accept(_data: dict[str, str]) -> None:
        await batches.accept_name(actor, batch_id, number)

    return await _batch_action(request, actor, batch_id, accept)


@post(
    "/payouts/batches/{batch_id:str}/check_names",
    operation_id="payouts_batch_check_names",
    include_in_schema=False,
    guards=[requires("payouts", "manage")],
    dependencies=DEPS,
)
async def payouts_batch_check_names(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str
) -> Response[Any]:
    async def check(_data: dict[str, str]) -> None:
        await batches.check_names_again(actor, batch_id)

    return await _batch_action(request, actor, batch_id, check)


@post(
    "/approvals/batches/{batch_id:str}/approve",
    operation_id="approvals_batch_approve",
    include_in_schema=False,
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
)
async def approvals_batch_approve(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str
) -> Response[Any]:
    return await _decide_batch(request, actor, batch_id, True)


@post(
    "/approvals/batches/{batch_id:str}/reject",
    operation_id="approvals_batch_reject",
    include_in_schema=False,
    guards=[requires("approvals", "manage")],
    dependencies=DEPS,
)
async def approvals_batch_reject(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str
) -> Response[Any]:
    return await _decide_batch(request, actor, batch_id, False)


async def _decide_batch(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str, approve: bool
) -> Response[Any]:
    await batches.find_batch(actor, batch_id)
    data = await form(request)
    try:
        if approve:
            await batches.approve_batch(actor, batch_id, data.get("code", ""))
        else:
            await batches.reject_batch(actor, batch_id, data.get("reason", ""))
    except NeracaError as exc:
        if not _form_refusal(exc):
            raise
        context = await _queue_context(actor)
        context.update(errors=errors_dict(exc.errors, exc.detail), failed_id=batch_id, message=exc.detail)
        return page(request, "approvals/queue.html", context, status_code=422)
    return Redirect("/approvals", status_code=303)


ROUTES = [
    payouts_batches,
    payouts_batch_template,
    payouts_batch_upload,
    payouts_batch,
    payouts_batch_export,
    payouts_batch_row_fix,
    payouts_batch_row_delete,
    payouts_batch_submit,
    payouts_batch_row_accept_name,
    payouts_batch_check_names,
    approvals_batch_approve,
    approvals_batch_reject,
    payouts_history,
    payouts_create,
    payouts_verify,
    payouts_payout,
    payouts_proof_pdf,
    payouts_cancel,
    approvals_queue,
    approvals_count,
    approvals_approve,
    approvals_reject,
    payouts_rails,
    payouts_rail_terms,
    payouts_settings_page,
    payouts_settings,
    payouts_beneficiaries,
    payouts_beneficiary_add,
    payouts_beneficiary,
    payouts_beneficiary_default,
    payouts_beneficiary_delete,
]
