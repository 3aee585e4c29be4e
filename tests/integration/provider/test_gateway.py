"""The provider interface against the simulator over HTTP: typed results, stored idempotency keys,
unknown outcomes resolved by a status query, specific errors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from portal.domains.provider import gateway
from portal.domains.provider.gateway import NameInquiry, PayinRequest, PayoutRequest, SandboxProvider
from portal.lib import clock, sql
from portal.lib.ids import new_id
from portal.settings import get_settings
from tests.support.provider import Harness


def quick(timeout_s: float = 1.0) -> SandboxProvider:
    """The sandbox adapter with a short timeout (the simulator's "timeout" rail holds its answer 5 s)."""
    return SandboxProvider(dataclasses.replace(get_settings().provider, timeout_s=timeout_s))


def va(reference: str, amount: int = 25_000) -> PayinRequest:
    return PayinRequest(
        reference=reference,
        channel="virtual_account",
        amount=amount,
        expires_at=clock.now() + timedelta(hours=24),
        customer_name="Toko Maju",
        bank_code="002",
    )


async def test_a_retried_purpose_reuses_its_key_and_gets_the_first_answer(harness: Harness) -> None:
    business = new_id("biz")
    provider = gateway.provider()
    request = va("R-ONE")  # a retry sends the same request (same expiry): built once
    first = await provider.create_payin(business, request)
    assert first.status == "pending" and first.channel == "virtual_account" and first.va_number
    assert first.amount == 25_000
    again = await provider.create_payin(business, request)
    assert again == first
    row = await sql.fetchrow("SELECT * FROM provider_request WHERE purpose = 'payin:R-ONE'")
    assert row is not None and (row["state"], row["business_id"]) == ("answered", business)
    # The same purpose with other details is our bug, never a second pay-in.
    with pytest.raises(gateway.ProviderConflict):
        await provider.create_payin(business, dataclasses.replace(request, amount=99_000))
    found = await provider.find_payin(business, "R-ONE")
    assert found is not None and found.payin_id == first.payin_id
    assert await provider.find_payin(business, "R-NONE") is None


async def test_timeout_after_send_is_resolved_by_a_status_query(harness: Harness) -> None:
    business = new_id("biz")
    await harness.control("POST", "/control/api/rails/bifast", {"mode": "timeout"})
    request = PayoutRequest(
        reference="PO-TIMEOUT",
        rail="bifast",
        amount=50_000,
        beneficiary_name="Budi Santoso",
        bank_code="014",
        account_number="1234567890",
    )
    payout = await quick().submit_payout(business, request)
    # The simulator recorded it but never answered in time: the status query found it, once.
    assert payout.reference == "PO-TIMEOUT" and payout.payout_id.startswith("sp_")
    row = await sql.fetchrow("SELECT * FROM provider_request WHERE purpose = 'payout:PO-TIMEOUT'")
    # Answered by the status query (no HTTP status of its own), not by the call that timed out.
    assert row is not None and (row["state"], row["status_code"]) == ("answered", None)
    await harness.control("POST", "/control/api/rails/bifast", {"mode": "normal"})
    again = await gateway.provider().submit_payout(business, request)
    assert again.payout_id == payout.payout_id


async def test_an_offline_rail_is_a_specific_error_and_the_key_is_kept(harness: Harness) -> None:
    business = new_id("biz")
    await harness.control("POST", "/control/api/rails/virtual_account", {"mode": "offline"})
    request = va("R-OFF")
    with pytest.raises(gateway.ProviderError) as raised:
        await gateway.provider().create_payin(business, request)
    assert raised.value.status == 503
    key = await sql.fetchval("SELECT external_id FROM provider_request WHERE purpose = 'payin:R-OFF'")
    await harness.control("POST", "/control/api/rails/virtual_account", {"mode": "normal"})
    payin = await gateway.provider().create_payin(business, request)
    assert payin.status == "pending"
    assert await sql.fetchval("SELECT external_id FROM provider_request WHERE purpose = 'payin:R-OFF'") == key


async def test_refusals_are_specific(harness: Harness) -> None:
    business = new_id("biz")
    with pytest.raises(gateway.ProviderRefused):
        await gateway.provider().create_payin(business, dataclasses.replace(va("R-BAD"), bank_code="999"))
    with pytest.raises(gateway.ProviderNotFound):
        await gateway.provider().get_payin(business, "pi_nothing")


async def test_name_inquiry_and_card_registration(harness: Harness) -> None:
    business = new_id("biz")
    await harness.control(
        "POST",
        "/control/api/bank-accounts",
        {
            "bank_code": "009",
            "account_number": "5550001111",
            "holder_name": "SITI AMINAH",
            "status": "active",
        },
    )
    found = await gateway.provider().name_inquiry(
        business, NameInquiry(kind="bank", bank_code="009", account_number="5550001111")
    )
    assert (found.status, found.holder_name) == ("found", "SITI AMINAH")
    registration = await gateway.provider().register_card(
        business, "cust-1", "http://127.0.0.1:8000/cards/done"
    )
    assert registration.status == "pending" and registration.hosted_url
    fetched = await gateway.provider().get_card_registration(business, registration.registration_id)
    assert fetched.status == "pending" and fetched.token is None


async def test_calls_are_refused_inside_a_transaction(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="inside a database transaction"):
        async with sql.transaction():
            await gateway.provider().create_payin(new_id("biz"), va("R-TX"))
