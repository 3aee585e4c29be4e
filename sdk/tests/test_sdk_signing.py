"""Request signing: fixed vectors (computed with openssl) and the headers the client really sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sdk_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    Recorder,
    account_json,
    expected_signature,
    make_client,
    page_json,
    transfer_json,
)

from neraca import _signing

RID = "5b0e3f52-8f1a-4c3e-9d6b-2f7f1f0a9c11"
TS = "2026-11-22T04:00:00Z"


def test_signature_of_a_get_matches_openssl_vector() -> None:
    # Expected value computed outside Python, with the four lines below as MESSAGE:
    #   printf "$MESSAGE" | openssl dgst -sha256 -hmac sk_test_secret -binary | base64
    headers = _signing.signature_headers(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        request_id=RID,
        timestamp=TS,
        target="/api/v1/transfers?limit=10",
        body=None,
    )
    assert headers == {
        "Client-Id": CLIENT_ID,
        "Request-Id": RID,
        "Request-Timestamp": TS,
        "Signature": "HMACSHA256=CjR5hEh16yMX+Ck+XorBu+M9KUWAH9QyjJEwwvUkHXU=",
    }


def test_signature_of_a_post_includes_the_body_digest() -> None:
    body = b'{"amount":150000}'
    assert _signing.body_digest(body) == "qzz+I5aO+HoH0GXcAFokzZb7uXJhwCgF/BYCqrQG6Q8="
    headers = _signing.signature_headers(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        request_id=RID,
        timestamp=TS,
        target="/api/v1/transfers",
        body=body,
    )
    assert headers["Signature"] == "HMACSHA256=rDVjgzlDtOJ7MhYxQS/h8waeWEXvKM7+0liD17fUruY="


def test_message_has_digest_line_only_with_a_body() -> None:
    without = _signing.signing_message(client_id="c", request_id="r", timestamp=TS, target="/x", body=None)
    empty = _signing.signing_message(client_id="c", request_id="r", timestamp=TS, target="/x", body=b"")
    with_body = _signing.signing_message(client_id="c", request_id="r", timestamp=TS, target="/x", body=b"{}")
    assert (
        without == empty == f"Client-Id:c\nRequest-Id:r\nRequest-Timestamp:{TS}\nRequest-Target:/x".encode()
    )
    assert with_body.split(b"\n")[-1].startswith(b"Digest:")
    assert len(with_body.split(b"\n")) == 5
    assert not with_body.endswith(b"\n")


def test_timestamp_is_utc_with_z_and_refuses_naive() -> None:
    wib = timezone(timedelta(hours=7))
    assert _signing.format_timestamp(datetime(2026, 11, 22, 11, 0, 0, 999999, tzinfo=wib)) == TS
    with pytest.raises(ValueError, match="timezone"):
        _signing.format_timestamp(datetime(2026, 11, 22, 4, 0, 0))


def test_get_request_headers_verify_independently() -> None:
    recorder = Recorder([httpx.Response(200, json=page_json([], None))])
    client = make_client(recorder)
    list(client.transfers.list(account_id="acc_div1", reference="INV 1/2", limit=10))
    (request,) = recorder.requests
    assert request.headers["Client-Id"] == CLIENT_ID
    assert request.headers["Signature"] == expected_signature(request)
    # The target is the path and query exactly as sent (including percent-encoding).
    assert request.url.raw_path.startswith(b"/api/v1/transfers?")
    assert b"reference=INV" in request.url.raw_path
    assert "Content-Type" not in request.headers
    assert request.content == b""


def test_signature_depends_on_the_secret() -> None:
    recorder = Recorder([httpx.Response(200, json=page_json([], None))])
    client = make_client(recorder, client_secret="another-secret")
    client.transfers.list().page()
    (request,) = recorder.requests
    assert request.headers["Signature"] == expected_signature(request, "another-secret")
    assert request.headers["Signature"] != expected_signature(request, CLIENT_SECRET)


def test_post_signs_the_exact_bytes_sent() -> None:
    recorder = Recorder([httpx.Response(200, json=transfer_json())])
    client = make_client(recorder)
    client.transfers.create(
        from_account_id="acc_main",
        to_account_id="acc_div1",
        amount=150000,
        reference="INV-1",
        description="Biaya iklan — November",
        metadata={"po": "PO-7"},
    )
    (request,) = recorder.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Signature"] == expected_signature(request)
    assert json.loads(request.content) == {
        "from_account_id": "acc_main",
        "to_account_id": "acc_div1",
        "amount": 150000,
        "reference": "INV-1",
        "description": "Biaya iklan — November",
        "metadata": {"po": "PO-7"},
    }


def test_bodyless_post_has_no_digest() -> None:
    recorder = Recorder([httpx.Response(200, json=account_json(status="frozen"))])
    client = make_client(recorder)
    client._clock = lambda: datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    client.accounts.freeze("acc_div1", request_id=RID)
    (request,) = recorder.requests
    assert request.content == b""
    assert "Content-Type" not in request.headers
    message = (
        f"Client-Id:{CLIENT_ID}\nRequest-Id:{RID}\nRequest-Timestamp:{TS}\n"
        "Request-Target:/api/v1/accounts/acc_div1/freeze"
    )
    mac = hmac.new(CLIENT_SECRET.encode(), message.encode(), hashlib.sha256).digest()
    assert request.headers["Signature"] == "HMACSHA256=" + base64.b64encode(mac).decode()


def test_timestamp_and_signature_are_recomputed_per_attempt() -> None:
    recorder = Recorder([httpx.Response(503, json={}), httpx.Response(200, json=transfer_json())])
    client = make_client(recorder)
    moments = [datetime(2026, 11, 22, 4, 0, tzinfo=UTC), datetime(2026, 11, 22, 4, 0, 7, tzinfo=UTC)]
    client._clock = lambda: moments.pop(0)
    client.transfers.create(from_account_id="a", to_account_id="b", amount=1, reference="r")
    first, second = recorder.requests
    assert first.headers["Request-Timestamp"] == "2026-11-22T04:00:00Z"
    assert second.headers["Request-Timestamp"] == "2026-11-22T04:00:07Z"
    assert first.headers["Signature"] != second.headers["Signature"]
    assert first.headers["Signature"] == expected_signature(first)
    assert second.headers["Signature"] == expected_signature(second)
    assert first.content == second.content
    assert moments == []  # read exactly once per attempt


def test_ids_are_percent_encoded_into_the_path_and_signed_that_way() -> None:
    recorder = Recorder([httpx.Response(200, json=account_json())])
    client = make_client(recorder)
    client.accounts.retrieve("acc/../../me")
    (request,) = recorder.requests
    assert request.url.raw_path == b"/api/v1/accounts/acc%2F..%2F..%2Fme"
    assert request.headers["Signature"] == expected_signature(request)


def test_empty_id_is_refused_before_sending() -> None:
    recorder = Recorder([httpx.Response(200, json=account_json())])
    client = make_client(recorder)
    with pytest.raises(ValueError, match="non-empty"):
        client.accounts.retrieve("")
    assert recorder.requests == []


def test_base_url_with_a_path_prefix_is_part_of_the_target() -> None:
    recorder = Recorder([httpx.Response(200, json=account_json())])
    client = make_client(recorder, base_url="https://example.test/neraca/")
    client.accounts.retrieve("acc_1")
    (request,) = recorder.requests
    assert str(request.url) == "https://example.test/neraca/api/v1/accounts/acc_1"
    assert request.headers["Signature"] == expected_signature(request)
