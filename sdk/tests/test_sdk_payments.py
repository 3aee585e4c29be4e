"""``client.payments``, ``client.split_rules`` and ``client.settlements``: each method sends the documented
request and reads the typed answer, blocking and asyncio alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import Recorder, make_async_client, make_client, page_json

from neraca import Neraca
from neraca.models import Payment, PaymentRefund, RefundDeduction, SettlementDetail, SplitPreview, SplitRule


def payment_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "pay_1",
        "account_id": "acc_main",
        "amount": 100000,
        "currency": "IDR",
        "channel": "va",
        "status": "pending",
        "remark": None,
        "invoice_number": "INV-1",
        "customer_id": None,
        "customer_name": "Budi",
        "customer_email": None,
        "description": "",
        "metadata": {},
        "source": "api",
        "fee": 4000,
        "refunded_amount": 0,
        "split": None,
        "split_rule_id": None,
        "provider_payin_id": "pi_1",
        "bank_code": "014",
        "va_number": "3935812345678901",
        "qris_string": None,
        "pay_url": "http://127.0.0.1:8001/pay/pi_1",
        "wallet": None,
        "phone": None,
        "response_code": None,
        "approval_code": None,
        "issuer": None,
        "failure_message": None,
        "settlement_id": None,
        "expires_at": "2026-12-01T00:00:00Z",
        "paid_at": None,
        "settled_at": None,
        "created_at": "2026-11-30T00:00:00Z",
        "object": "payment",
    }
    return {**data, **overrides}


RULE = {
    "id": "spl_1",
    "name": "Branches",
    "account_id": None,
    "destinations": [{"kind": "account", "account_id": "acc_x", "percent": 60, "amount": None}],
    "created_at": "2026-11-30T00:00:00Z",
    "updated_at": "2026-11-30T00:00:00Z",
    "object": "split_rule",
}
PREVIEW = {
    "gross": 100000,
    "fee": 4000,
    "total_settlement_amount": 96000,
    "parts": [{"kind": "account", "account_id": "acc_x", "beneficiary_id": None, "amount": 57600}],
    "remainder": 38400,
    "remainder_account_id": "acc_main",
    "object": "split_preview",
}
SETTLEMENT = {
    "id": "stl_1",
    "channel": "va",
    "business_day": "2026-11-30",
    "settlement_date": "2026-12-01",
    "status": "pending",
    "payment_count": 1,
    "gross": 100000,
    "fees": 4000,
    "refunds": 0,
    "refund_fees": 0,
    "net": 96000,
    "created_at": "2026-11-30T00:00:00Z",
    "paid_at": None,
    "object": "settlement",
}
DEDUCTION = {
    "id": "ded_1",
    "refund_id": "rfd_1",
    "payment_id": "pay_1",
    "invoice_number": "INV-1",
    "channel": "va",
    "kind": "account",
    "account_id": "acc_x",
    "beneficiary_id": None,
    "reason": "refund",
    "amount": 60000,
    "taken_by_batches": 10000,
    "taken_from_balance": 20000,
    "remaining": 30000,
    "status": "overdue",
    "balance_from": "2026-12-14T10:00:00Z",
    "created_at": "2026-11-30T10:00:00Z",
    "object": "settlement_deduction",
}

DETAIL = {
    "settlement": SETTLEMENT,
    "lines": [
        {
            "payment_id": "pay_1",
            "invoice_number": "INV-1",
            "account_id": "acc_main",
            "amount": 100000,
            "fee": 4000,
            "refunded": 0,
            "refund_fee": 0,
            "net": 96000,
        }
    ],
    "deductions": [
        {
            "deduction_id": "ded_1",
            "refund_id": "rfd_1",
            "payment_id": "pay_0",
            "invoice_number": "INV-0",
            "kind": "account",
            "account_id": "acc_x",
            "beneficiary_id": None,
            "reason": "refund",
            "amount": 60000,
        }
    ],
}
SPLIT = [{"kind": "account", "account_id": "acc_x", "percent": 60}]

ENDPOINTS: list[
    tuple[str, Callable[[Neraca], Any], dict[str, Any], str, str, dict[str, list[str]], Any, Any]
] = [
    (
        "payments.create",
        lambda c: c.payments.create(
            account_id="acc_main",
            amount=100000,
            channel="va",
            invoice_number="INV-1",
            customer_name="Budi",
            bank_code="014",
        ),
        payment_json(),
        "POST",
        "/api/v1/payments",
        {},
        {
            "account_id": "acc_main",
            "amount": 100000,
            "channel": "va",
            "invoice_number": "INV-1",
            "customer_name": "Budi",
            "bank_code": "014",
        },
        Payment,
    ),
    (
        "payments.retrieve",
        lambda c: c.payments.retrieve("pay_1"),
        payment_json(),
        "GET",
        "/api/v1/payments/pay_1",
        {},
        None,
        Payment,
    ),
    (
        "payments.list",
        lambda c: c.payments.list(status="paid", split=True, limit=5).page(),
        page_json([payment_json()], None),
        "GET",
        "/api/v1/payments",
        {"status": ["paid"], "split": ["true"], "limit": ["5"]},
        None,
        None,
    ),
    (
        "payments.refund",
        lambda c: c.payments.refund("pay_1", amount=30000, reason="returned"),
        {
            "id": "rfd_1",
            "payment_id": "pay_1",
            "amount": 30000,
            "fee": 2500,
            "reason": "returned",
            "status": "succeeded",
            "created_at": "2026-11-30T00:00:00Z",
        },
        "POST",
        "/api/v1/payments/pay_1/refunds",
        {},
        {"amount": 30000, "reason": "returned"},
        PaymentRefund,
    ),
    (
        "payments.update_split",
        lambda c: c.payments.update_split("pay_1", destinations=SPLIT),
        payment_json(split=SPLIT),
        "POST",
        "/api/v1/payments/pay_1/split",
        {},
        {"destinations": SPLIT},
        Payment,
    ),
    (
        "payments.simulate_payment",
        lambda c: c.payments.simulate_payment("pay_1"),
        payment_json(status="paid"),
        "POST",
        "/api/v1/payments/pay_1/simulate-payment",
        {},
        None,
        Payment,
    ),
    (
        "split_rules.create",
        lambda c: c.split_rules.create(name="Branches", destinations=SPLIT),
        RULE,
        "POST",
        "/api/v1/split_rules",
        {},
        {"name": "Branches", "destinations": SPLIT},
        SplitRule,
    ),
    (
        "split_rules.retrieve",
        lambda c: c.split_rules.retrieve("spl_1"),
        RULE,
        "GET",
        "/api/v1/split_rules/spl_1",
        {},
        None,
        SplitRule,
    ),
    (
        "split_rules.list",
        lambda c: c.split_rules.list().page(),
        page_json([RULE], None),
        "GET",
        "/api/v1/split_rules",
        {},
        None,
        None,
    ),
    (
        "split_rules.update",
        lambda c: c.split_rules.update("spl_1", name="Cabang"),
        RULE,
        "PATCH",
        "/api/v1/split_rules/spl_1",
        {},
        {"name": "Cabang"},
        SplitRule,
    ),
    (
        "split_rules.delete",
        lambda c: c.split_rules.delete("spl_1"),
        {},
        "DELETE",
        "/api/v1/split_rules/spl_1",
        {},
        None,
        None,
    ),
    (
        "split_rules.preview",
        lambda c: c.split_rules.preview(destinations=SPLIT, amount=100000, channel="va"),
        PREVIEW,
        "POST",
        "/api/v1/split_rules/preview",
        {},
        {"destinations": SPLIT, "amount": 100000, "channel": "va"},
        SplitPreview,
    ),
    (
        "settlements.list",
        lambda c: c.settlements.list(status="paid").page(),
        page_json([SETTLEMENT], None),
        "GET",
        "/api/v1/settlements",
        {"status": ["paid"]},
        None,
        None,
    ),
    (
        "settlements.retrieve",
        lambda c: c.settlements.retrieve("stl_1"),
        DETAIL,
        "GET",
        "/api/v1/settlements/stl_1",
        {},
        None,
        SettlementDetail,
    ),
    (
        "settlements.deductions",
        lambda c: c.settlements.deductions(status="owed").page(),
        page_json([DEDUCTION], None),
        "GET",
        "/api/v1/settlement_deductions",
        {"status": ["owed"]},
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "body", "result_type"),
    [pytest.param(*row[1:], id=row[0]) for row in ENDPOINTS],
)
def test_endpoint(
    call: Callable[[Neraca], Any],
    answer: dict[str, Any],
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: Any,
    result_type: type | None,
) -> None:
    recorder = Recorder([httpx.Response(200, json=answer)])
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


def test_every_payments_method_is_covered() -> None:
    client = make_client(Recorder([httpx.Response(200, json={})]))
    names = {row[0] for row in ENDPOINTS}
    for resource in ("payments", "split_rules", "settlements"):
        obj = getattr(client, resource)
        for attr in dir(obj):
            if not attr.startswith("_") and callable(getattr(obj, attr)):
                assert f"{resource}.{attr}" in names, f"{resource}.{attr} has no test row"


def test_a_refund_deduction_is_typed() -> None:
    page = make_client(
        Recorder([httpx.Response(200, json=page_json([DEDUCTION], None))])
    ).settlements.deductions()
    (deduction,) = list(page)
    assert isinstance(deduction, RefundDeduction)
    assert (deduction.remaining, deduction.taken_from_balance, deduction.status) == (30000, 20000, "overdue")
    assert deduction.balance_from.year == 2026


def test_typed_models() -> None:
    detail = make_client(Recorder([httpx.Response(200, json=DETAIL)])).settlements.retrieve("stl_1")
    assert detail.settlement.net == 96000 and detail.lines[0].invoice_number == "INV-1"
    assert detail.settlement.business_day.isoformat() == "2026-11-30"
    assert detail.deductions[0].amount == 60000 and detail.deductions[0].reason == "refund"
    preview = make_client(Recorder([httpx.Response(200, json=PREVIEW)])).split_rules.preview(
        destinations=SPLIT, amount=100000
    )
    assert sum(p.amount for p in preview.parts) + preview.remainder == preview.total_settlement_amount


def test_amounts_must_be_ints() -> None:
    client = make_client(Recorder([]))
    with pytest.raises(TypeError):
        client.payments.create(
            account_id="a", amount=1.5, channel="va", invoice_number="I", customer_name="B"
        )  # type: ignore[arg-type]


def test_async_client_does_the_same() -> None:
    async def go() -> None:
        recorder = Recorder(
            [httpx.Response(200, json=payment_json(status="paid")), httpx.Response(200, json=DETAIL)]
        )
        async with make_async_client(recorder) as client:
            paid = await client.payments.create(
                account_id="acc_main",
                amount=100000,
                channel="card",
                invoice_number="INV-2",
                customer_name="B",
                card_token="tok",
            )
            assert paid.status == "paid"
            detail = await client.settlements.retrieve("stl_1")
            assert detail.settlement.id == "stl_1"
        assert [r.url.path for r in recorder.requests] == ["/api/v1/payments", "/api/v1/settlements/stl_1"]

    asyncio.run(go())
