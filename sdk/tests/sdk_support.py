"""Helpers for the SDK unit tests: clients over ``httpx.MockTransport`` and sample API objects.

No server exists in these tests; a scripted ``Recorder`` plays the API's part and keeps what it got.
A plain module (not conftest), importable as `sdk_support` because pytest puts sdk/tests on the path
(`pythonpath` in both pyproject.toml files).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from neraca import AsyncNeraca, Neraca

CLIENT_ID = "cid_test"
CLIENT_SECRET = "sk_test_secret"
BASE_URL = "http://neraca.test"

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """A scripted API: answers the queued responses in order (the last one repeats) and keeps requests."""

    responses: list[httpx.Response | Exception | Handler]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        index = min(len(self.requests) - 1, len(self.responses) - 1)
        answer = self.responses[index]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        # A fresh copy each time: one Response object cannot be sent twice.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@dataclass
class Sleeps:
    """Stands in for time.sleep / asyncio.sleep: records the delays instead of waiting."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(recorder: Recorder, sleeps: Sleeps | None = None, **kwargs: Any) -> Neraca:
    """A Neraca client whose transport is ``recorder`` and whose sleeps are recorded, not slept."""
    options: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "base_url": BASE_URL}
    options.update(kwargs)
    client = Neraca(http_client=httpx.Client(transport=httpx.MockTransport(recorder)), **options)
    client._sleep = sleeps if sleeps is not None else Sleeps()
    return client


def make_async_client(recorder: Recorder, sleeps: Sleeps | None = None, **kwargs: Any) -> AsyncNeraca:
    """The AsyncNeraca twin of ``make_client``."""
    options: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "base_url": BASE_URL}
    options.update(kwargs)
    client = AsyncNeraca(http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)), **options)
    client._sleep = (sleeps if sleeps is not None else Sleeps()).async_sleep
    return client


def expected_signature(request: httpx.Request, secret: str = CLIENT_SECRET) -> str:
    """Recompute the Signature header from the request as sent, straight from docs/api-contract.md."""
    lines = [
        f"Client-Id:{request.headers['Client-Id']}",
        f"Request-Id:{request.headers['Request-Id']}",
        f"Request-Timestamp:{request.headers['Request-Timestamp']}",
        f"Request-Target:{request.url.raw_path.decode()}",
    ]
    if request.content:
        lines.append("Digest:" + base64.b64encode(hashlib.sha256(request.content).digest()).decode())
    mac = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).digest()
    return "HMACSHA256=" + base64.b64encode(mac).decode()


def problem(
    status: int, code: str, detail: str = "", *, errors: list[dict[str, str]] | None = None, **headers: str
) -> httpx.Response:
    """An RFC 9457 problem response as the API sends it."""
    body: dict[str, Any] = {
        "type": f"https://neraca.dev/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        "request_id": "req_from_body",
    }
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json", **headers})


BANK = {"bank_code": "BCA", "account_number": "1234567890", "holder_name": "PT Contoh"}


def account_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "acc_div1",
        "object": "account",
        "parent_id": "acc_main",
        "name": "Marketing",
        "kind": "division",
        "currency": "IDR",
        "status": "active",
        "reference": "DIV-MKT",
        "email": None,
        "phone": None,
        "settlement_bank": None,
        "metadata": {},
        "created_at": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def balance_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "object": "balance",
        "account_id": "acc_div1",
        "currency": "IDR",
        "available": 150000,
        "posted": 200000,
        "pending_in": 0,
        "on_hold": 50000,
        "as_of": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def transfer_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "trf_1",
        "object": "transfer",
        "from_account_id": "acc_main",
        "to_account_id": "acc_div1",
        "amount": 150000,
        "currency": "IDR",
        "reference": "INV-1",
        "description": None,
        "kind": "transfer",
        "group_id": None,
        "created_at": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def group_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "grp_1",
        "object": "transfer_group",
        "reference": "SPLIT-1",
        "transfers": [transfer_json(group_id="grp_1"), transfer_json(id="trf_2", group_id="grp_1")],
        "created_at": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def hold_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "hld_1",
        "object": "hold",
        "from_account_id": "acc_div1",
        "to_account_id": "acc_main",
        "amount": 5000,
        "posted_amount": 0,
        "currency": "IDR",
        "reference": "HOLD-1",
        "status": "pending",
        "expires_at": None,
        "created_at": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def topup_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "top_1",
        "object": "topup",
        "account_id": "acc_main",
        "amount": 1000000,
        "fee": 6000,
        "total": 1006000,
        "currency": "IDR",
        "reference": "TOP-1",
        "status": "pending",
        "payment_instructions": BANK,
        "expires_at": "2026-11-23T04:00:00Z",
        "paid_at": None,
        "created_at": "2026-11-22T04:00:00Z",
    }
    data.update(overrides)
    return data


def withdrawal_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "wdr_1",
        "object": "withdrawal",
        "account_id": "acc_div1",
        "amount": 100000,
        "fee": 8000,
        "total": 108000,
        "currency": "IDR",
        "reference": "WDR-1",
        "status": "pending",
        "bank": BANK,
        "failure_reason": None,
        "created_at": "2026-11-22T04:00:00Z",
        "completed_at": None,
    }
    data.update(overrides)
    return data


def me_json() -> dict[str, Any]:
    return {
        "business": {"id": "biz_1", "name": "PT Contoh", "mode": "sandbox"},
        "client_id": CLIENT_ID,
        "name": "backend",
        "permissions": ["accounts:manage", "transfers:manage"],
        "scope_account_id": None,
    }


def entry_json(n: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "object": "statement_entry",
        "booked_at": "2026-11-22T04:00:00Z",
        "transaction_id": f"trf_{n}",
        "reference": f"REF-{n}",
        "description": None,
        "account_id": "acc_div1",
        "counterpart_account_id": "acc_main",
        "debit": 0,
        "credit": 1000,
        "running_balance": 1000 * n,
        "kind": "transfer",
    }
    data.update(overrides)
    return data


def statement_page_json(entries: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {
        "data": entries,
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
        "opening_balance": 0,
        "closing_balance": 3000,
        "total_debits": 0,
        "total_credits": 3000,
        "currency": "IDR",
        "period": {"start": "2026-11-01", "end": "2026-11-30"},
    }


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}
