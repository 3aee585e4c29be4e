"""SNAP signatures: round trip, tampering, staleness and missing headers are each refused."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.lib import snap

NOW = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
BODY = b'{"amount":150000,"reference":"INV-1"}'


def _headers(**overrides: str) -> dict[str, str]:
    found = snap.headers("s3cret", "neraca", "ext-1", "POST", "/v1/payins", BODY, now=NOW)
    found.update(overrides)
    return {k.lower(): v for k, v in found.items()}


def test_round_trip_and_wib_timestamp() -> None:
    headers = _headers()
    assert headers["x-timestamp"] == "2026-11-29T20:00:00+07:00"
    snap.verify("s3cret", "POST", "/v1/payins", BODY, headers, now=NOW + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("secret", "method", "path", "body", "reason"),
    [
        ("other", "POST", "/v1/payins", BODY, "invalid_signature"),
        ("s3cret", "GET", "/v1/payins", BODY, "invalid_signature"),
        ("s3cret", "POST", "/v1/payouts", BODY, "invalid_signature"),
        ("s3cret", "POST", "/v1/payins", BODY.replace(b"150000", b"150001"), "invalid_signature"),
    ],
)
def test_tampering_is_refused(secret: str, method: str, path: str, body: bytes, reason: str) -> None:
    with pytest.raises(snap.SignatureError) as caught:
        snap.verify(secret, method, path, body, _headers(), now=NOW)
    assert caught.value.reason == reason


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_timestamps_are_refused(skew: timedelta) -> None:
    with pytest.raises(snap.SignatureError) as caught:
        snap.verify("s3cret", "POST", "/v1/payins", BODY, _headers(), now=NOW + skew)
    assert caught.value.reason == "timestamp_out_of_range"


@pytest.mark.parametrize("missing", ["x-timestamp", "x-signature", "x-external-id"])
def test_missing_headers_are_refused(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(snap.SignatureError) as caught:
        snap.verify("s3cret", "POST", "/v1/payins", BODY, headers, now=NOW)
    assert caught.value.reason == "missing_headers"


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(snap.SignatureError) as caught:
        snap.verify(
            "s3cret", "POST", "/v1/payins", BODY, _headers(**{"X-TIMESTAMP": "2026-11-29T20:00:00"}), now=NOW
        )
    assert caught.value.reason == "invalid_timestamp"
