"""Request bodies for the simulator tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.simulator import Simulator


def merchant() -> str:
    """A merchant of its own per test: its own test clock and settlement reports."""
    return f"biz_{uuid.uuid4().hex[:12]}"


def ref(prefix: str = "ref") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def payin_body(
    merchant_id: str, channel: str = "virtual_account", amount: int = 150_000, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "merchant_id": merchant_id,
        "reference": ref("topup"),
        "channel": channel,
        "amount": amount,
        "currency": "IDR",
        "expires_at": (datetime.now(UTC) + timedelta(hours=6)).isoformat(),
        "customer_name": "Budi Santoso",
    }
    if channel == "virtual_account":
        body["bank_code"] = "014"
    if channel == "ewallet":
        body.update(wallet="OVO", phone="081234567890")
    body.update(extra)
    return body


def payout_body(
    merchant_id: str, rail: str = "bifast", amount: int = 250_000, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "merchant_id": merchant_id,
        "reference": ref("po"),
        "rail": rail,
        "amount": amount,
        "currency": "IDR",
        "bank_code": "014",
        "account_number": "1234567890",
        "beneficiary_name": "BUDI SANTOSO",
    }
    body.update(extra)
    return body


def create_payin(
    sim: Simulator, merchant_id: str, channel: str = "virtual_account", **extra: Any
) -> dict[str, Any]:
    answer = sim.call("POST", "/v1/payins", payin_body(merchant_id, channel, **extra))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def register_card(
    sim: Simulator, merchant_id: str, number: str = "4111111111111111", expiry: str = "12/30"
) -> dict[str, Any]:
    """Start a registration and fill in the hosted page the way a customer's browser posts it."""
    import httpx

    started = sim.call(
        "POST",
        "/v1/cards/registrations",
        {
            "merchant_id": merchant_id,
            "customer_ref": "cust-1",
            "return_url": "http://127.0.0.1:8000/cards/done",
        },
    )
    assert started.status_code == 200, started.text
    registration = started.json()
    posted = httpx.post(
        registration["hosted_url"],
        data={"card_number": number, "expiry": expiry, "cvv": "123", "holder": "Budi Santoso"},
        timeout=10,
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"].startswith("http://127.0.0.1:8000/cards/done?registration_id=")
    answer = sim.call("GET", f"/v1/cards/registrations/{registration['registration_id']}")
    assert answer.status_code == 200
    return dict(answer.json())
