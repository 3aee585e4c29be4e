"""Exceptions raised by the Neraca SDK.

Hierarchy::

    NeracaError
    ├── APIConnectionError          the request never got an HTTP answer
    │   └── APITimeoutError         ... because it timed out
    ├── APIResponseValidationError  a 2xx answer that does not match the contract
    ├── APIStatusError              the server answered 4xx/5xx (RFC 9457 problem details)
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── UnprocessableEntityError    422
    │   ├── RateLimitError              429
    │   └── InternalServerError         >= 500
    └── WebhookVerificationError    a webhook whose signature or timestamp is not acceptable
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FieldError",
    "InternalServerError",
    "NeracaError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
]


class NeracaError(Exception):
    """Base class of every exception the SDK raises on purpose."""


class APIConnectionError(NeracaError):
    """No HTTP response was received (DNS, refused connection, reset, TLS, ...)."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""

    def __init__(self, message: str = "Request timed out.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(NeracaError):
    """A successful response whose body does not have the shape the API contract promises."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class WebhookVerificationError(NeracaError):
    """A webhook delivery failed verification; do not act on its payload."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a problem's ``errors`` list: which input field is wrong and why."""

    pointer: str | None
    """JSON pointer into the request body (``/amount``) or the query parameter name."""
    detail: str | None
    code: str | None = None


class APIStatusError(NeracaError):
    """The API answered with an error status; the problem details are parsed onto the exception.

    Attributes:
        status_code: the HTTP status.
        code: the stable machine code (``insufficient_funds``, ``duplicate_reference``, ...) or None.
        title / detail / type: the RFC 9457 members, when present.
        errors: per-field problems (``FieldError``), empty when the server sent none.
        request_id: the Request-Id of the failing request (from the body, else the one sent).
        body: the decoded JSON body, or None when the body was not JSON.
        response: the ``httpx.Response``.
    """

    def __init__(self, response: httpx.Response, *, request_id: str | None = None) -> None:
        self.response = response
        self.status_code = response.status_code
        self.body: Any = _decode_json(response)
        problem: dict[str, Any] = self.body if isinstance(self.body, dict) else {}
        self.code: str | None = _str_or_none(problem.get("code"))
        self.title: str | None = _str_or_none(problem.get("title"))
        self.detail: str | None = _str_or_none(problem.get("detail"))
        self.type: str | None = _str_or_none(problem.get("type"))
        self.errors: list[FieldError] = _field_errors(problem.get("errors"))
        self.request_id: str | None = (
            _str_or_none(problem.get("request_id")) or response.headers.get("Request-Id") or request_id
        )
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = " ".join(parts)
        if self.detail:
            text += f": {self.detail}"
        elif self.title:
            text += f": {self.title}"
        elif self.body is None and self.response.text:
            # A proxy's HTML error page: show the start so the log line still says something.
            text += f": {self.response.text[:200]}"
        if self.errors:
            text += " (" + "; ".join(f"{e.pointer or '?'}: {e.detail or ''}" for e in self.errors) + ")"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text


class BadRequestError(APIStatusError):
    """400: the request could not be read (malformed JSON, bad query parameter)."""


class AuthenticationError(APIStatusError):
    """401: bad signature, unknown or revoked key, timestamp out of range, reused Request-Id."""


class PermissionDeniedError(APIStatusError):
    """403: the API key lacks the permission for this operation."""


class NotFoundError(APIStatusError):
    """404: no such object for this business (objects of other businesses are 404 too)."""


class ConflictError(APIStatusError):
    """409: ``duplicate_reference``, ``request_in_progress`` (retried automatically), state conflicts."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed (``unknown_field``, ``insufficient_funds``, ``idempotency_key_reused``...)."""


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically honouring Retry-After."""


class InternalServerError(APIStatusError):
    """5xx: the server failed; retried automatically."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[APIStatusError]:
    """Return the exception class the SDK raises for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def make_status_error(response: httpx.Response, *, request_id: str | None = None) -> APIStatusError:
    """Build the exception for an error response (the body must already be read)."""
    return error_class_for_status(response.status_code)(response, request_id=request_id)


def _decode_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _field_errors(value: Any) -> list[FieldError]:
    if not isinstance(value, list):
        return []
    return [
        FieldError(
            pointer=_str_or_none(item.get("pointer")),
            detail=_str_or_none(item.get("detail")),
            code=_str_or_none(item.get("code")),
        )
        for item in value
        if isinstance(item, dict)
    ]
