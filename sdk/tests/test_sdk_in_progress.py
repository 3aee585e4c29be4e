"""The SDK waits out a request the server says is still running (409 request_in_progress) for about 30 s
whatever ``max_retries`` is: longer than the server takes to release a dead process's claim."""

from __future__ import annotations

import httpx
import pytest
from sdk_support import Recorder, Sleeps, make_client, problem, transfer_json

from neraca import ConflictError
from neraca._retry import DEFAULT_POLICY, retry_limit


def in_progress() -> httpx.Response:
    return problem(409, "request_in_progress", **{"Retry-After": "1"})


def test_the_in_progress_budget_outlasts_max_retries() -> None:
    assert retry_limit(2, 409, "request_in_progress") == DEFAULT_POLICY.in_progress_retries == 30
    assert retry_limit(50, 409, "request_in_progress") == 50
    assert retry_limit(0, 409, "request_in_progress") == 0  # retrying off stays off
    assert retry_limit(2, 503, "unavailable") == 2
    assert retry_limit(2, 409, "duplicate_reference") == 2


def test_a_running_request_is_waited_for_with_the_same_request_id() -> None:
    sleeps = Sleeps()
    recorder = Recorder([*(in_progress() for _ in range(10)), httpx.Response(201, json=transfer_json())])
    client = make_client(recorder, sleeps, max_retries=2)
    transfer = client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert transfer.id == "trf_1"
    assert len(recorder.requests) == 11 and len({r.headers["Request-Id"] for r in recorder.requests}) == 1
    assert sleeps.delays == [1.0] * 10  # the server's Retry-After


def test_the_wait_ends_after_the_budget() -> None:
    sleeps = Sleeps()
    client = make_client(Recorder([in_progress()]), sleeps, max_retries=2)
    with pytest.raises(ConflictError) as raised:
        client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert raised.value.code == "request_in_progress"
    assert sum(sleeps.delays) == DEFAULT_POLICY.in_progress_retries
