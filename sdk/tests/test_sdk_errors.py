"""Error mapping: HTTP status → exception class, with the problem details parsed onto it."""

from __future__ import annotations

import httpx
import pytest
from sdk_support import Recorder, make_client, problem, transfer_json

from neraca import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    InternalServerError,
    NeracaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
)


def test_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, NeracaError)
    assert issubclass(APIStatusError, NeracaError)
    assert issubclass(WebhookVerificationError, NeracaError)
    assert issubclass(APIResponseValidationError, NeracaError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "bad_request", BadRequestError),
        (401, "invalid_signature", AuthenticationError),
        (401, "timestamp_out_of_range", AuthenticationError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "duplicate_reference", ConflictError),
        (422, "insufficient_funds", UnprocessableEntityError),
        (429, "rate_limited", RateLimitError),
        (500, "internal_error", InternalServerError),
        (503, "unavailable", InternalServerError),
        (418, "teapot", APIStatusError),
    ],
)
def test_status_maps_to_exception_class(status: int, code: str, cls: type[APIStatusError]) -> None:
    recorder = Recorder([problem(status, code, "it went wrong")])
    client = make_client(recorder, max_retries=0)
    with pytest.raises(APIStatusError) as info:
        client.accounts.retrieve("acc_x")
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code
    assert error.detail == "it went wrong"
    assert error.request_id == "req_from_body"
    assert error.response.status_code == status
    assert code in str(error) and str(status) in str(error)


def test_problem_fields_and_field_errors_are_parsed() -> None:
    response = problem(
        422,
        "validation_failed",
        "2 fields are invalid",
        errors=[
            {"pointer": "/amount", "detail": "must be greater than 0"},
            {"pointer": "/reference", "detail": "is required", "code": "missing"},
        ],
    )
    recorder = Recorder([response])
    client = make_client(recorder)
    with pytest.raises(UnprocessableEntityError) as info:
        client.transfers.create(from_account_id="a", to_account_id="b", amount=0, reference="r")
    error = info.value
    assert error.errors == [
        FieldError(pointer="/amount", detail="must be greater than 0"),
        FieldError(pointer="/reference", detail="is required", code="missing"),
    ]
    assert error.type == "https://neraca.dev/problems/validation_failed"
    assert error.title == "Validation failed"
    assert "/amount: must be greater than 0" in str(error)
    assert error.body["status"] == 422


def test_non_json_error_body_is_tolerated_and_request_id_falls_back_to_the_one_sent() -> None:
    recorder = Recorder([httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")])
    client = make_client(recorder, max_retries=0)
    with pytest.raises(InternalServerError) as info:
        client.transfers.create(
            from_account_id="a", to_account_id="b", amount=5, reference="r", request_id="rid-123"
        )
    error = info.value
    assert error.code is None and error.detail is None and error.errors == [] and error.body is None
    assert error.request_id == "rid-123"
    assert "502 Bad Gateway" in str(error)


def test_request_id_from_response_header_when_body_has_none() -> None:
    recorder = Recorder([httpx.Response(404, json={"code": "not_found"}, headers={"Request-Id": "hdr-1"})])
    client = make_client(recorder)
    with pytest.raises(NotFoundError) as info:
        client.accounts.retrieve("acc_x")
    assert info.value.request_id == "hdr-1"
    assert info.value.detail is None


def test_json_body_that_is_not_an_object_is_tolerated() -> None:
    recorder = Recorder([httpx.Response(400, json=["unexpected"])])
    client = make_client(recorder)
    with pytest.raises(BadRequestError) as info:
        client.accounts.retrieve("acc_x")
    assert info.value.code is None
    assert info.value.body == ["unexpected"]


def test_success_with_a_body_that_breaks_the_contract_is_a_validation_error() -> None:
    recorder = Recorder([httpx.Response(200, json=transfer_json(amount=1500.5))])
    client = make_client(recorder)
    with pytest.raises(APIResponseValidationError, match="amount: expected an integer"):
        client.transfers.retrieve("trf_1")


def test_success_with_a_non_json_body_is_a_validation_error() -> None:
    recorder = Recorder([httpx.Response(200, text="OK", headers={"Content-Type": "text/plain"})])
    client = make_client(recorder)
    with pytest.raises(APIResponseValidationError, match="Expected JSON"):
        client.transfers.retrieve("trf_1")


def test_missing_required_field_is_a_validation_error() -> None:
    data = transfer_json()
    del data["amount"]
    recorder = Recorder([httpx.Response(200, json=data)])
    client = make_client(recorder)
    with pytest.raises(APIResponseValidationError, match="amount: is missing"):
        client.transfers.retrieve("trf_1")
