"""One exception hierarchy for the whole portal, mapped to HTTP in portal/server/errors.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class StartupError(Exception):
    """Raised before serving when the environment is wrong; the CLI prints the one sentence and exits 2."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; `pointer` is a JSON pointer (`/amount`) or a form field name."""

    pointer: str
    detail: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail, "code": self.code}


class NeracaError(Exception):
    """A failure the user can act on: a stable machine `code`, an HTTP status and one clear sentence."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        if status is not None:
            self.status = status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}


class ValidationFailed(NeracaError):
    status = 422
    code = "validation_failed"
    title = "The request has invalid fields"


class Unauthorized(NeracaError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(NeracaError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(NeracaError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(NeracaError):
    status = 409
    code = "conflict"
    title = "Conflict"


class RateLimited(NeracaError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(NeracaError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
