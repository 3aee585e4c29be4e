"""The customer's pages in Chromium: save a card on the hosted page, pay a QRIS pay-in on its pay page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.simulator.helpers import create_payin, merchant
from tests.support.simulator import Simulator

pytestmark = pytest.mark.browser


async def test_hosted_card_page_saves_a_card_and_returns_to_the_merchant(page: Any, sim: Simulator) -> None:
    merchant_id = merchant()
    started = sim.call(
        "POST",
        "/v1/cards/registrations",
        {"merchant_id": merchant_id, "customer_ref": "cust-9", "return_url": f"{sim.url}/healthz"},
    ).json()
    await page.goto(started["hosted_url"])
    await page.get_by_label("Card number").fill("4111 1111 1111 1112")
    await page.get_by_label("Expiry (MM/YY)").fill("11/31")
    await page.get_by_label("Security code (CVV)").fill("123")
    await page.get_by_label("Name on card").fill("Dewi Lestari")
    await page.get_by_role("button", name="Save card").click()
    await page.get_by_text("The card number is not valid.").wait_for()
    # The number is not echoed back; the rest of the form is kept.
    assert await page.get_by_label("Card number").input_value() == ""
    assert await page.get_by_label("Name on card").input_value() == "Dewi Lestari"

    await page.get_by_label("Card number").fill("5555 5555 5555 4444")
    await page.get_by_label("Security code (CVV)").fill("321")
    await page.get_by_role("button", name="Save card").click()
    await page.wait_for_url(f"{sim.url}/healthz?registration_id={started['registration_id']}")
    card = sim.call("GET", f"/v1/cards/registrations/{started['registration_id']}").json()
    assert (card["status"], card["brand"], card["last4"], card["expiry_year"]) == (
        "registered",
        "mastercard",
        "4444",
        2031,
    )
    # The refused form comes back with 422, which Chromium reports as a failed load; nothing else.
    assert [error for error in page.console_errors if "422" not in error] == []


async def test_pay_page_shows_the_qr_and_pays(page: Any, sim: Simulator) -> None:
    payin = create_payin(sim, merchant(), "qris", amount=42_000)
    await page.goto(payin["pay_url"])
    assert await page.get_by_role("img", name="QRIS code").is_visible()
    await page.get_by_role("button", name="Pay IDR 42,000 now").click()
    await page.locator("#status", has_text="Paid").wait_for()
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "paid"
    assert page.console_errors == []
