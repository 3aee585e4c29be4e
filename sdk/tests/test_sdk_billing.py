"""Card billing resources (``client.customers``, ``client.billings``, ``client.charges``): the route,
query and body each method sends, and the typed result, sync and async."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import Recorder, make_async_client, make_client, page_json

from neraca import Billing, BillingBatch, BillingCard, Charge, Customer, Neraca, ScheduledDate


def customer_json(**extra: Any) -> dict[str, Any]:
    return {
        "id": "cus_1",
        "customer_id": "CUST-1",
        "name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "081234567890",
        "created_at": "2026-11-29T10:00:00+07:00",
        "object": "customer",
        **extra,
    }


def scheduled_json(**extra: Any) -> dict[str, Any]:
    return {
        "billing_id": "bil_1",
        "billing_number": "BIL-1",
        "invoice_number": "INV-0001",
        "execute_date": "2027-02-05",
        "type": "single",
        "amount": 25000,
        "currency": "IDR",
        "charge_id": "chg_1",
        "object": "scheduled_date",
        **extra,
    }


def billing_json(**extra: Any) -> dict[str, Any]:
    return {
        "id": "bil_1",
        "billing_number": "BIL-1",
        "customer_id": "cus_1",
        "customer_ref": "CUST-1",
        "account_id": "acc_main",
        "amount": 150000,
        "currency": "IDR",
        "description": "",
        "type": "recurring",
        "status": "active",
        "schedule_type": "date",
        "schedule": {"day": 5, "months": [1, 2]},
        "next_execute_dates": ["2027-01-05", "2027-02-05"],
        "card": {
            "status": "registered",
            "first6": "411111",
            "last4": "1111",
            "brand": "visa",
            "issuer": "Sandbox Test Bank",
            "expiry_month": 12,
            "expiry_year": 2030,
            "hosted_url": None,
            "registration_id": "reg_1",
        },
        "created_at": "2026-11-29T10:00:00+07:00",
        "object": "billing",
        **extra,
    }


def charge_json(**extra: Any) -> dict[str, Any]:
    return {
        "id": "chg_1",
        "billing_id": "bil_1",
        "billing_number": "BIL-1",
        "invoice_number": "BIL-1-20270105",
        "type": "recurring",
        "execute_date": "2027-01-05",
        "account_id": "acc_main",
        "amount": 150000,
        "currency": "IDR",
        "status": "paid",
        "attempt": 1,
        "next_attempt_on": None,
        "response_code": "00",
        "approval_code": "123456",
        "error_message": None,
        "issuer": "Sandbox Test Bank",
        "card_first6": "411111",
        "card_last4": "1111",
        "card_brand": "visa",
        "payment_id": None,
        "refunded_amount": 0,
        "batch_id": None,
        "created_at": "2027-01-05T10:00:00+07:00",
        "charged_at": "2027-01-05T10:00:01+07:00",
        "object": "charge",
        **extra,
    }


def batch_json(**extra: Any) -> dict[str, Any]:
    return {
        "id": "bat_1",
        "kind": "transaction",
        "file_name": "march.csv",
        "status": "validated",
        "total_data": 1,
        "invalid_data": 0,
        "total_amount": 150000,
        "created_at": "2027-01-05T10:00:00+07:00",
        "processed_at": None,
        "rows": [{"line": 2, "data": {"billing_number": "BIL-1"}, "errors": []}],
        "object": "billing_batch",
        **extra,
    }


ROWS: list[
    tuple[str, Callable[[Neraca], Any], dict[str, Any], str, str, dict[str, list[str]], Any, type | None]
] = [
    (
        "customers.create",
        lambda c: c.customers.create(customer_id="CUST-1", name="Budi Santoso", email="budi@example.com"),
        customer_json(),
        "POST",
        "/api/v1/customers",
        {},
        {"customer_id": "CUST-1", "name": "Budi Santoso", "email": "budi@example.com"},
        Customer,
    ),
    (
        "customers.retrieve",
        lambda c: c.customers.retrieve("CUST-1"),
        customer_json(),
        "GET",
        "/api/v1/customers/CUST-1",
        {},
        None,
        Customer,
    ),
    (
        "customers.update",
        lambda c: c.customers.update("cus_1", phone="081234567890"),
        customer_json(),
        "PATCH",
        "/api/v1/customers/cus_1",
        {},
        {"phone": "081234567890"},
        Customer,
    ),
    (
        "customers.list",
        lambda c: c.customers.list(search="Budi").first(),
        page_json([customer_json()], None),
        "GET",
        "/api/v1/customers",
        {"search": ["Budi"]},
        None,
        Customer,
    ),
    (
        "billings.create",
        lambda c: c.billings.create(
            customer_id="CUST-1",
            billing_number="BIL-1",
            amount=150000,
            schedule_type="date",
            day=5,
            months=[1, 2],
        ),
        billing_json(),
        "POST",
        "/api/v1/billings",
        {},
        {
            "customer_id": "CUST-1",
            "billing_number": "BIL-1",
            "amount": 150000,
            "type": "recurring",
            "schedule": {"schedule_type": "date", "day": 5, "months": [1, 2]},
        },
        Billing,
    ),
    (
        "billings.retrieve",
        lambda c: c.billings.retrieve("BIL-1"),
        billing_json(),
        "GET",
        "/api/v1/billings/BIL-1",
        {},
        None,
        Billing,
    ),
    (
        "billings.list",
        lambda c: c.billings.list(search="BIL").first(),
        page_json([billing_json()], None),
        "GET",
        "/api/v1/billings",
        {"search": ["BIL"]},
        None,
        Billing,
    ),
    (
        "billings.update_schedule",
        lambda c: c.billings.update_schedule("bil_1", schedule_type="full_date", dates=[date(2027, 3, 1)]),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/schedule",
        {},
        {"schedule_type": "full_date", "dates": ["2027-03-01"]},
        Billing,
    ),
    (
        "billings.activate",
        lambda c: c.billings.activate("bil_1"),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/activate",
        {},
        None,
        Billing,
    ),
    (
        "billings.inactivate",
        lambda c: c.billings.inactivate("bil_1"),
        billing_json(status="inactive"),
        "POST",
        "/api/v1/billings/bil_1/inactivate",
        {},
        None,
        Billing,
    ),
    (
        "billings.change_type",
        lambda c: c.billings.change_type("bil_1", "reminder"),
        billing_json(type="reminder"),
        "POST",
        "/api/v1/billings/bil_1/type",
        {},
        {"type": "reminder"},
        Billing,
    ),
    (
        "billings.delete",
        lambda c: c.billings.delete("bil_1"),
        {},
        "DELETE",
        "/api/v1/billings/bil_1",
        {},
        None,
        None,
    ),
    (
        "billings.delete_execute_date",
        lambda c: c.billings.delete_execute_date("bil_1", date(2027, 2, 5)),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/execute-dates/delete",
        {},
        {"execute_date": "2027-02-05"},
        Billing,
    ),
    (
        "billings.delete_execute_date",
        lambda c: c.billings.delete_execute_date("BIL-1", invoice_number="INV-0001"),
        billing_json(),
        "POST",
        "/api/v1/billings/BIL-1/execute-dates/delete",
        {},
        {"invoice_number": "INV-0001"},
        Billing,
    ),
    (
        "billings.delete_execute_date",
        lambda c: c.billings.delete_execute_date("bil_1", date(2027, 2, 5), invoice_number="INV-0001"),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/execute-dates/delete",
        {},
        {"execute_date": "2027-02-05", "invoice_number": "INV-0001"},
        Billing,
    ),
    (
        "billings.scheduled_dates",
        lambda c: c.billings.scheduled_dates(invoice_number="INV-0001"),
        {"data": [scheduled_json()]},
        "GET",
        "/api/v1/execute-dates",
        {"invoice_number": ["INV-0001"]},
        None,
        None,
    ),
    (
        "billings.register_card",
        lambda c: c.billings.register_card("bil_1", return_url="https://shop.example/done"),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/card-registration",
        {},
        {"return_url": "https://shop.example/done"},
        Billing,
    ),
    (
        "billings.refresh_card",
        lambda c: c.billings.refresh_card("bil_1"),
        billing_json(),
        "POST",
        "/api/v1/billings/bil_1/card-registration/refresh",
        {},
        None,
        Billing,
    ),
    (
        "charges.list",
        lambda c: c.charges.list(approval_code="123456").first(),
        page_json([charge_json()], None),
        "GET",
        "/api/v1/charges",
        {"approval_code": ["123456"]},
        None,
        Charge,
    ),
    (
        "billing_batches.create",
        lambda c: c.billing_batches.create(kind="transaction", file_name="march.csv", content=b"a,b\n"),
        batch_json(),
        "POST",
        "/api/v1/billing-batches",
        {},
        {"kind": "transaction", "file_name": "march.csv", "content_base64": "YSxiCg=="},
        BillingBatch,
    ),
    (
        "billing_batches.retrieve",
        lambda c: c.billing_batches.retrieve("bat_1"),
        batch_json(),
        "GET",
        "/api/v1/billing-batches/bat_1",
        {},
        None,
        BillingBatch,
    ),
    (
        "billing_batches.list",
        lambda c: c.billing_batches.list().first(),
        page_json([batch_json()], None),
        "GET",
        "/api/v1/billing-batches",
        {},
        None,
        BillingBatch,
    ),
    (
        "billing_batches.process",
        lambda c: c.billing_batches.process("bat_1"),
        batch_json(status="processed"),
        "POST",
        "/api/v1/billing-batches/bat_1/process",
        {},
        None,
        BillingBatch,
    ),
    (
        "charges.retrieve",
        lambda c: c.charges.retrieve("chg_1"),
        charge_json(),
        "GET",
        "/api/v1/charges/chg_1",
        {},
        None,
        Charge,
    ),
    (
        "charges.void",
        lambda c: c.charges.void("chg_1"),
        charge_json(status="voided"),
        "POST",
        "/api/v1/charges/chg_1/void",
        {},
        None,
        Charge,
    ),
    (
        "charges.refund",
        lambda c: c.charges.refund("chg_1", amount=50000, reason="returned"),
        charge_json(status="partially_refunded", refunded_amount=50000),
        "POST",
        "/api/v1/charges/chg_1/refund",
        {},
        {"amount": 50000, "reason": "returned"},
        Charge,
    ),
]


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "body", "result_type"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_billing_endpoint(
    call: Callable[[Neraca], Any],
    answer: dict[str, Any],
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: Any,
    result_type: type | None,
) -> None:
    recorder = Recorder(
        [httpx.Response(200 if answer else 204, json=answer) if answer else httpx.Response(204)]
    )
    result = call(make_client(recorder))
    (request,) = recorder.requests
    assert (request.method, request.url.path) == (method, path)
    assert parse_qs(request.url.query.decode()) == params
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
    if result_type is not None:
        assert isinstance(result, result_type)
        assert result.raw == (answer["data"][0] if "data" in answer else answer)


def test_every_billing_method_has_a_row() -> None:
    client = make_client(Recorder([httpx.Response(200, json={})]))
    names = {row[0] for row in ROWS}
    for resource in ("customers", "billings", "charges", "billing_batches"):
        obj = getattr(client, resource)
        for attr in dir(obj):
            if not attr.startswith("_") and callable(getattr(obj, attr)):
                assert f"{resource}.{attr}" in names, f"{resource}.{attr} has no test row"


def test_the_billing_is_typed_with_its_masked_card_and_dates() -> None:
    billing = make_client(Recorder([httpx.Response(200, json=billing_json())])).billings.retrieve("bil_1")
    assert isinstance(billing.card, BillingCard) and billing.card.last4 == "1111"
    assert billing.next_execute_dates == [date(2027, 1, 5), date(2027, 2, 5)]
    assert billing.amount == 150000


def test_amounts_must_be_ints() -> None:
    client = make_client(Recorder([httpx.Response(200, json=charge_json())]))
    with pytest.raises(TypeError):
        client.charges.refund("chg_1", amount=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.billings.create(customer_id="C", billing_number="B", amount="1000")  # type: ignore[arg-type]


def test_scheduled_dates_are_typed() -> None:
    recorder = Recorder([httpx.Response(200, json={"data": [scheduled_json()]})])
    (found,) = make_client(recorder).billings.scheduled_dates(billing_number="BIL-1")
    assert isinstance(found, ScheduledDate)
    assert (found.invoice_number, found.execute_date, found.type, found.charge_id) == (
        "INV-0001",
        date(2027, 2, 5),
        "single",
        "chg_1",
    )
    assert parse_qs(recorder.requests[0].url.query.decode()) == {"billing_number": ["BIL-1"]}


def test_deleting_an_execute_date_needs_the_date_or_the_invoice_number() -> None:
    recorder = Recorder([httpx.Response(200, json=billing_json())])
    with pytest.raises(TypeError):
        make_client(recorder).billings.delete_execute_date("bil_1")
    assert recorder.requests == []

    async def go() -> Billing:
        async with make_async_client(recorder) as client:
            return await client.billings.delete_execute_date("bil_1", invoice_number="INV-0001")

    assert isinstance(asyncio.run(go()), Billing)
    assert json.loads(recorder.requests[0].content) == {"invoice_number": "INV-0001"}


def test_async_billings_send_the_same_requests() -> None:
    recorder = Recorder([httpx.Response(200, json=billing_json())])

    async def go() -> Billing:
        async with make_async_client(recorder) as client:
            await client.billings.inactivate("bil_1")
            return await client.billings.update_schedule(
                "bil_1", schedule_type="day", weekdays=[0], months=[12]
            )

    result = asyncio.run(go())
    assert isinstance(result, Billing)
    assert [r.url.path for r in recorder.requests] == [
        "/api/v1/billings/bil_1/inactivate",
        "/api/v1/billings/bil_1/schedule",
    ]
    assert json.loads(recorder.requests[1].content) == {
        "schedule_type": "day",
        "weekdays": [0],
        "months": [12],
    }
