"""Provider routes: the signed callbacks the provider sends (public, no session, no CSRF) and
Reports → Reconciliation (the provider's view against the ledger)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from portal.domains.provider import services
from portal.domains.provider.gateway import ProviderError
from portal.lib.actor import Actor
from portal.lib.i18n import N_, gettext
from portal.server.forms import pages_router, see_other
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page, wants_fragment

MISMATCH_LABELS = {
    "paid_not_booked": N_("Paid at the provider, not booked"),
    "booked_not_paid": N_("Booked, not paid at the provider"),
    "amount_differs": N_("Amounts differ"),
    "unknown_at_provider": N_("Unknown at the provider"),
    "unknown_in_ledger": N_("Settled by the provider, unknown in the ledger"),
}


@post("/provider/callbacks/{kind:str}", status_code=200, opt={"public": True})
async def provider_callback(request: Request[Any, Any, Any], kind: str) -> Response[dict[str, str]]:
    """A callback from the payment provider: verified, recorded once, applied by a job."""
    if kind not in services.CALLBACK_KINDS:
        return Response({"status": "ignored", "reason": "unknown_kind"}, status_code=404)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        outcome = await services.receive_callback(kind, request.url.path, body, headers)
    except services.CallbackRefused as exc:
        return Response({"status": "refused", "reason": exc.reason}, status_code=401)
    answer = {"status": outcome.status}
    if outcome.reason:
        answer["reason"] = outcome.reason
    return Response(answer, status_code=200)


async def _reconciliation_context(actor: Actor) -> dict[str, Any]:
    run = await services.latest_reconciliation(actor)
    return {"run": run, "labels": MISMATCH_LABELS}


@get(
    "/reports/reconciliation",
    guards=[requires("reports")],
)
async def reconciliation_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """Reports → Reconciliation: every mismatch of the latest comparison with the provider."""
    return page(request, "provider/reconciliation.html", await _reconciliation_context(actor))


@post(
    "/reports/reconciliation",
    guards=[requires("reports")],
    status_code=200,
)
async def run_reconciliation(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Compare now (reads both sides, changes no money)."""
    try:
        await services.run_reconciliation(actor)
        toast = ("success", gettext("Reconciliation finished."))
    except ProviderError as exc:
        toast = ("error", exc.detail)
    if wants_fragment(request):
        return page(
            request, "provider/reconciliation.html", await _reconciliation_context(actor), toast=toast
        )
    return see_other(request, "/reports/reconciliation")


ROUTES = [pages_router(ACTOR_DEPENDENCY, [provider_callback, reconciliation_page, run_reconciliation])]
