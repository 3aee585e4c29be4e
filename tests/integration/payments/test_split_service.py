"""Split settlement's activation learnt from the provider's callback: the simulator's verify (control API
and its control page's form) sends a signed `service.activated` callback; Neraca marks the service
ACTIVE once, audited, with no status query; a replayed callback and a second verify change nothing;
"Ask the provider again" still answers; a callback of a business that never asked is ignored."""

from __future__ import annotations

from typing import Any

from portal.lib import sql
from tests.support.payments import payments_api
from tests.support.provider import Harness


async def _state(api: Any) -> str:
    return str((await api.call("GET", "/api/v1/payment_settings")).json()["split_service"])


async def _activations(business_id: str) -> int:
    return int(
        await sql.fetchval(
            "SELECT count(*) FROM activity WHERE business_id = $1 AND action = "
            "'payment_settings.split_service_active'",
            business_id,
        )
    )


async def _service_callbacks(harness: Harness, business_id: str) -> list[dict[str, Any]]:
    log = await harness.control("GET", f"/control/api/callbacks?merchant_id={business_id}&limit=50")
    return [c for c in log if c["type"] == "service.activated"]


async def test_the_provider_calls_back_when_it_verifies_split_settlement(
    harness: Harness, client: Any
) -> None:
    api, business, _main = await payments_api(client)
    requested = await api.call("POST", "/api/v1/payment_settings/split_service")
    assert requested.json()["split_service"] == "updating", requested.text

    # The provider's review through its control API: the callback alone makes it ACTIVE.
    await harness.control("POST", f"/control/api/services/{business.id}/split_settlement/verify")
    await harness.wait_for(lambda: _state(api), "active")
    event = await sql.fetchrow(
        "SELECT * FROM provider_event WHERE business_id = $1 AND kind = 'services'", business.id
    )
    assert event is not None and event["type"] == "service.activated"
    await harness.wait_for(
        lambda: sql.fetchval("SELECT outcome FROM provider_event WHERE event_id = $1", event["event_id"]),
        "activated",
    )
    assert await _activations(business.id) == 1
    assert await sql.fetchval(
        "SELECT split_verified_at IS NOT NULL FROM payment_settings WHERE business_id = $1", business.id
    )

    # Verified again: no second callback. The first delivered again: ignored as a replay.
    await harness.control("POST", f"/control/api/services/{business.id}/split_settlement/verify")
    (sent,) = await _service_callbacks(harness, business.id)
    assert sent["event_id"] == event["event_id"]
    await harness.control("POST", f"/control/api/callbacks/{event['event_id']}/resend")

    async def answers() -> list[str]:
        (callback,) = await _service_callbacks(harness, business.id)
        return [str(a["response"]) for a in callback["attempts"] if a["status_code"] == 200]

    async def replayed() -> bool:
        return any("replayed" in answer for answer in await answers())

    await harness.wait_for(replayed, True)
    assert await _activations(business.id) == 1
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM provider_event WHERE business_id = $1 AND kind = 'services'", business.id
        )
        == 1
    )
    # "Ask the provider again" still answers (and changes nothing more).
    refreshed = await api.call("POST", "/api/v1/payment_settings/split_service/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["split_service"] == "active", refreshed.text
    assert await _activations(business.id) == 1

    # The control page's form sends the callback too.
    other_api, other, _ = await payments_api(client)
    await other_api.call("POST", "/api/v1/payment_settings/split_service")
    form = await harness.http.post(
        f"{harness.sim_url}/control/forms/verify-service",
        data={"merchant_id": other.id, "service": "split_settlement"},
    )
    assert form.status_code == 303, form.text
    await harness.wait_for(lambda: _state(other_api), "active")
    assert await _activations(other.id) == 1

    # A business that never asked: the callback is ignored, nothing is written.
    stranger_api, stranger, _ = await payments_api(client)
    ignored = await harness.callback(
        "services",
        "ev_never_asked",
        "service.activated",
        stranger.id,
        {"merchant_id": stranger.id, "service": "split_settlement", "status": "active"},
    )
    assert ignored.status_code == 200 and ignored.json() == {
        "status": "ignored",
        "reason": "unknown_reference",
    }
    assert await _state(stranger_api) == "inactive"
    assert await sql.fetchval("SELECT count(*) FROM provider_event WHERE event_id = 'ev_never_asked'") == 0
