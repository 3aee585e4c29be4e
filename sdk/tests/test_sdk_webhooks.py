"""Standard Webhooks verification: the published example vector, tampering, skew, rotation, headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from neraca import NeracaError, WebhookVerificationError, webhooks

# The example of the Standard Webhooks specification (also used by the svix libraries' tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"a-rotated-secret-of-32-bytes!!!!").decode()


def headers(**overrides: str) -> dict[str, str]:
    result = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}
    result.update(overrides)
    return result


def independent_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_the_specification_example_verifies() -> None:
    payload = webhooks.verify(BODY, headers(), SECRET, now=TIMESTAMP)
    assert payload == {"test": 2432232314}


def test_sign_produces_the_specification_example() -> None:
    assert webhooks.sign(BODY, secret=SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP) == headers()


def test_sign_and_verify_round_trip_with_an_independent_hmac() -> None:
    body = json.dumps({"type": "transfer.created", "data": {"id": "trf_1", "amount": 150000}}).encode()
    signed = webhooks.sign(body, secret=OTHER_SECRET, msg_id="msg_2", timestamp=TIMESTAMP)
    assert signed["webhook-signature"] == independent_signature(OTHER_SECRET, "msg_2", TIMESTAMP, body)
    assert webhooks.verify(body, signed, OTHER_SECRET, now=TIMESTAMP)["data"]["amount"] == 150000


def test_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="no webhook signature matches"):
        webhooks.verify(b'{"test": 2432232315}', headers(), SECRET, now=TIMESTAMP)


def test_reserialized_body_is_refused() -> None:
    # Same JSON value, different bytes: verification must be over the raw body.
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(json.dumps(json.loads(BODY), separators=(",", ":")), headers(), SECRET, now=TIMESTAMP)


def test_tampered_timestamp_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="no webhook signature matches"):
        webhooks.verify(BODY, headers(**{"webhook-timestamp": str(TIMESTAMP + 1)}), SECRET, now=TIMESTAMP)


def test_tampered_id_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, headers(**{"webhook-id": "msg_other"}), SECRET, now=TIMESTAMP)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, headers(), OTHER_SECRET, now=TIMESTAMP)


@pytest.mark.parametrize(("skew", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_timestamp_tolerance_both_ways(skew: int, accepted: bool) -> None:
    # skew = how far "now" is after the signed timestamp; negative means the message is from the future.
    now = TIMESTAMP + skew
    if accepted:
        assert webhooks.verify(BODY, headers(), SECRET, now=now) == {"test": 2432232314}
    else:
        with pytest.raises(WebhookVerificationError, match="too old" if skew > 0 else "too new"):
            webhooks.verify(BODY, headers(), SECRET, now=now)


def test_tolerance_is_configurable() -> None:
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, headers(), SECRET, tolerance=10, now=TIMESTAMP + 11)
    assert webhooks.verify(BODY, headers(), SECRET, tolerance=3600, now=TIMESTAMP + 3000)


def test_old_timestamp_with_a_valid_signature_is_still_refused() -> None:
    # A replay of a genuine delivery a day later.
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, headers(), SECRET, now=TIMESTAMP + 86_400)


def test_rotation_any_matching_signature_is_accepted() -> None:
    new_signature = independent_signature(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    both = headers(**{"webhook-signature": f"{new_signature} {SIGNATURE}"})
    assert webhooks.verify(BODY, both, SECRET, now=TIMESTAMP)
    assert webhooks.verify(BODY, both, OTHER_SECRET, now=TIMESTAMP)
    third = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, both, third, now=TIMESTAMP)


def test_only_v1_entries_count() -> None:
    signature = SIGNATURE.removeprefix("v1,")
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(
            BODY, headers(**{"webhook-signature": f"v1a,{signature} v2,{signature}"}), SECRET, now=TIMESTAMP
        )
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, headers(**{"webhook-signature": signature}), SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    incomplete = headers()
    del incomplete[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        webhooks.verify(BODY, incomplete, SECRET, now=TIMESTAMP)


def test_empty_header_counts_as_missing() -> None:
    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        webhooks.verify(BODY, headers(**{"webhook-signature": ""}), SECRET, now=TIMESTAMP)


def test_non_numeric_timestamp_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="Unix seconds"):
        webhooks.verify(BODY, headers(**{"webhook-timestamp": "2021-02-25T15:02:10Z"}), SECRET, now=TIMESTAMP)


def test_header_names_are_case_insensitive() -> None:
    mixed = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(TIMESTAMP), "Webhook-Signature": SIGNATURE}
    assert webhooks.verify(BODY, mixed, SECRET, now=TIMESTAMP) == {"test": 2432232314}
    assert webhooks.verify(BODY, httpx.Headers(mixed), SECRET, now=TIMESTAMP) == {"test": 2432232314}


def test_body_may_be_given_as_text() -> None:
    assert webhooks.verify(BODY.decode(), headers(), SECRET, now=TIMESTAMP) == {"test": 2432232314}


def test_a_signed_body_that_is_not_json_is_refused() -> None:
    signed = webhooks.sign(b"not json", secret=SECRET, msg_id="msg_3", timestamp=TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="not valid JSON"):
        webhooks.verify(b"not json", signed, SECRET, now=TIMESTAMP)


def test_malformed_secret_is_reported() -> None:
    with pytest.raises(WebhookVerificationError, match="base64"):
        webhooks.verify(BODY, headers(), "whsec_not*base64!", now=TIMESTAMP)


def test_default_clock_refuses_the_2021_example() -> None:
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, headers(), SECRET)


def test_error_is_a_neraca_error() -> None:
    assert issubclass(WebhookVerificationError, NeracaError)
