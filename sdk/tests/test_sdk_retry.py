"""Retry policy: back-off arithmetic, Retry-After parsing, and what the client retries (and how)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sdk_support import (
    Recorder,
    Sleeps,
    account_json,
    balance_json,
    expected_signature,
    make_client,
    me_json,
    problem,
    transfer_json,
)

from neraca import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
    backoff_delay,
    parse_retry_after,
    retry_delay,
)
from neraca._retry import is_retryable_status

NOW = datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC)


# --- pure arithmetic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (40, 8.0), (10_000, 8.0)],
)
def test_backoff_ceiling_doubles_from_half_a_second_up_to_eight(attempt: int, ceiling: float) -> None:
    assert backoff_delay(attempt, random_value=1.0) == pytest.approx(ceiling)
    assert backoff_delay(attempt, random_value=0.0) == 0.0
    assert backoff_delay(attempt, random_value=0.25) == pytest.approx(ceiling * 0.25)


def test_backoff_uses_the_policy_constants() -> None:
    policy = RetryPolicy(base=1.0, factor=3.0, cap=20.0)
    assert [backoff_delay(n, random_value=1.0, policy=policy) for n in range(4)] == [1.0, 3.0, 9.0, 20.0]


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        backoff_delay(-1, random_value=0.5)
    with pytest.raises(ValueError):
        backoff_delay(0, random_value=1.5)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("3", 3.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Sun, 22 Nov 2026 04:00:30 GMT", 30.0),
        ("Sun, 22 Nov 2026 03:59:00 GMT", 0.0),  # a date in the past: go now
        ("Sun, 22 Nov 2026 04:02:00 -0000", 120.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retry_delay_prefers_retry_after_and_caps_it_at_sixty_seconds() -> None:
    assert retry_delay(0, retry_after=7.0, random_value=0.99) == 7.0
    assert retry_delay(3, retry_after=0.0, random_value=0.99) == 0.0
    assert retry_delay(0, retry_after=3600.0, random_value=0.5) == 60.0
    assert retry_delay(2, retry_after=None, random_value=0.5) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (409, "request_in_progress", True),
        (409, "duplicate_reference", False),
        (409, None, False),
        (429, "rate_limited", True),
        (500, None, True),
        (502, None, True),
        (503, "maintenance", True),
        (504, None, True),
        (400, None, False),
        (401, "invalid_signature", False),
        (404, "not_found", False),
        (422, "insufficient_funds", False),
    ],
)
def test_which_statuses_are_retried(status: int, code: str | None, retry: bool) -> None:
    assert is_retryable_status(status, code) is retry


# --- the client's behaviour ------------------------------------------------------------------------


def test_post_retries_reuse_one_request_id_and_the_same_body(sleeps: Sleeps) -> None:
    recorder = Recorder(
        [
            problem(503, "unavailable"),
            problem(409, "request_in_progress"),
            httpx.Response(200, json=transfer_json()),
        ]
    )
    client = make_client(recorder, sleeps)
    transfer = client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert transfer.id == "trf_1"
    assert len(recorder.requests) == 3
    ids = {r.headers["Request-Id"] for r in recorder.requests}
    assert len(ids) == 1
    assert len({r.content for r in recorder.requests}) == 1
    assert all(r.headers["Signature"] == expected_signature(r) for r in recorder.requests)
    assert len(sleeps.delays) == 2


def test_each_logical_call_gets_its_own_request_id() -> None:
    recorder = Recorder([httpx.Response(200, json=transfer_json())])
    client = make_client(recorder)
    for _ in range(2):
        client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    first, second = recorder.requests
    assert first.headers["Request-Id"] != second.headers["Request-Id"]


def test_explicit_request_id_is_sent_on_every_attempt() -> None:
    recorder = Recorder([httpx.ConnectError("refused"), httpx.Response(200, json=transfer_json())])
    client = make_client(recorder)
    client.transfers.create(
        from_account_id="a", to_account_id="b", amount=5, reference="r", request_id="order-42-payout"
    )
    assert [r.headers["Request-Id"] for r in recorder.requests] == ["order-42-payout"] * 2


def test_get_retries_use_a_fresh_request_id(sleeps: Sleeps) -> None:
    # Outside POST the contract treats Request-Id as a nonce: reusing it would be `request_id_reused`.
    recorder = Recorder([problem(502, "bad_gateway"), httpx.Response(200, json=balance_json())])
    client = make_client(recorder, sleeps)
    client.balances.retrieve("acc_div1")
    first, second = recorder.requests
    assert first.headers["Request-Id"] != second.headers["Request-Id"]
    assert second.headers["Signature"] == expected_signature(second)


def test_retry_after_is_honoured(sleeps: Sleeps) -> None:
    recorder = Recorder(
        [
            problem(429, "rate_limited", **{"Retry-After": "3"}),
            problem(503, "unavailable", **{"Retry-After": "Sun, 22 Nov 2026 04:00:05 GMT"}),
            httpx.Response(200, json=account_json()),
        ]
    )
    client = make_client(recorder, sleeps)
    client._clock = lambda: NOW
    client.accounts.retrieve("acc_div1")
    assert sleeps.delays == [3.0, 5.0]


def test_retry_after_above_the_cap_waits_sixty_seconds(sleeps: Sleeps) -> None:
    recorder = Recorder(
        [problem(429, "rate_limited", **{"Retry-After": "600"}), httpx.Response(200, json=me_json())]
    )
    client = make_client(recorder, sleeps)
    client.me.retrieve()
    assert sleeps.delays == [60.0]


def test_backoff_without_retry_after_is_jittered_exponential(sleeps: Sleeps) -> None:
    recorder = Recorder([problem(500, "internal")] * 3 + [httpx.Response(200, json=account_json())])
    client = make_client(recorder, sleeps, max_retries=3)
    client._random = lambda: 0.5
    client.accounts.retrieve("acc_div1")
    assert sleeps.delays == [0.25, 0.5, 1.0]


def test_gives_up_after_max_retries_with_the_last_error(sleeps: Sleeps) -> None:
    recorder = Recorder([problem(503, "unavailable", "down for maintenance")])
    client = make_client(recorder, sleeps)
    with pytest.raises(InternalServerError) as info:
        client.accounts.retrieve("acc_div1")
    assert len(recorder.requests) == 3  # the first attempt and max_retries=2
    assert info.value.status_code == 503
    assert info.value.code == "unavailable"
    assert len(sleeps.delays) == 2


def test_max_retries_zero_sends_once(sleeps: Sleeps) -> None:
    recorder = Recorder([problem(429, "rate_limited", **{"Retry-After": "1"})])
    client = make_client(recorder, sleeps, max_retries=0)
    with pytest.raises(RateLimitError):
        client.accounts.retrieve("acc_div1")
    assert len(recorder.requests) == 1
    assert sleeps.delays == []


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (problem(409, "duplicate_reference"), ConflictError),
        (problem(422, "insufficient_funds"), UnprocessableEntityError),
        (problem(422, "idempotency_key_reused"), UnprocessableEntityError),
    ],
)
def test_final_answers_are_not_retried(
    sleeps: Sleeps, response: httpx.Response, error: type[Exception]
) -> None:
    recorder = Recorder([response])
    client = make_client(recorder, sleeps)
    with pytest.raises(error):
        client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert len(recorder.requests) == 1
    assert sleeps.delays == []


def test_connection_errors_are_retried_then_raised(sleeps: Sleeps) -> None:
    recorder = Recorder([httpx.ConnectError("connection refused")])
    client = make_client(recorder, sleeps)
    with pytest.raises(APIConnectionError) as info:
        client.accounts.retrieve("acc_div1")
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(recorder.requests) == 3


def test_timeouts_are_retried_then_raised_as_api_timeout(sleeps: Sleeps) -> None:
    recorder = Recorder([httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow")])
    client = make_client(recorder, sleeps)
    with pytest.raises(APITimeoutError):
        client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert len(recorder.requests) == 3
    assert len({r.headers["Request-Id"] for r in recorder.requests}) == 1


def test_a_timeout_then_success_returns_the_result(sleeps: Sleeps) -> None:
    recorder = Recorder([httpx.ReadTimeout("slow"), httpx.Response(200, json=transfer_json(amount=77))])
    client = make_client(recorder, sleeps)
    transfer = client.transfers.create(from_account_id="a", to_account_id="b", amount=77, reference="r")
    assert transfer.amount == 77
    assert len(sleeps.delays) == 1


def test_with_options_changes_retries_and_shares_the_http_client(sleeps: Sleeps) -> None:
    recorder = Recorder([problem(500, "internal")])
    client = make_client(recorder, sleeps)
    quiet = client.with_options(max_retries=0, timeout=5)
    assert quiet._http is client._http
    assert quiet.timeout == httpx.Timeout(5)
    assert client.max_retries == 2 and quiet.max_retries == 0
    with pytest.raises(InternalServerError):
        quiet.accounts.retrieve("acc_div1")
    assert len(recorder.requests) == 1
    assert recorder.requests[0].extensions["timeout"] == httpx.Timeout(5).as_dict()
    quiet.close()  # a copy never closes the shared client
    assert not client._http.is_closed


def test_the_timeout_is_applied_per_request() -> None:
    recorder = Recorder([httpx.Response(200, json=account_json())])
    client = make_client(recorder, timeout=12.5)
    client.accounts.retrieve("acc_div1")
    assert recorder.requests[0].extensions["timeout"] == httpx.Timeout(12.5).as_dict()


def test_retried_body_is_byte_identical_even_with_unicode(sleeps: Sleeps) -> None:
    recorder = Recorder([problem(500, "internal"), httpx.Response(200, json=transfer_json())])
    client = make_client(recorder, sleeps)
    client.transfers.create(
        from_account_id="a", to_account_id="b", amount=5, reference="r", description="Pembayaran ✓ Jakarta"
    )
    first, second = recorder.requests
    assert first.content == second.content
    assert json.loads(first.content)["description"] == "Pembayaran ✓ Jakarta"
