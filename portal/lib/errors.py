"""One exception hierarchy for the whole portal, mapped to HTTP in portal/server/errors.py.

Messages are translated when they are shown, not when they are raised: an error carries a msgid (the
English sentence, marked with `N_`) and named `params`, and `detail` renders it in the language of the
request that reads it. An error raised inside another request's work (the ledger's group commit runs
several requests' operations together) therefore still reaches each caller in its own language.
Already-translated text may still be passed as the detail: gettext leaves a string it does not know as
it is. Money in params is an `Amount`, shown through the money formatter ("Rp5.000" / "IDR 5,000").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class StartupError(Exception):
    """Raised before serving when the environment is wrong; the CLI prints the one sentence and exits 2."""


def N_(message: str) -> str:
    """Mark a string for extraction (same as portal.lib.i18n.N_; here so errors need no other import)."""
    return message


class Amount(NamedTuple):
    """A money value inside an error's params: minor units and currency, formatted when shown."""

    minor: int
    currency: str


class Label(NamedTuple):
    """A vocabulary word in an error's params (a status, a kind): its msgid, translated when shown."""

    msgid: str


def _shown(value: Any) -> Any:
    if isinstance(value, Label):
        from portal.lib.i18n import gettext

        return gettext(value.msgid)
    if isinstance(value, Amount):
        from portal.lib.i18n import babel_locale
        from portal.lib.money import format_money

        return format_money(value.minor, value.currency, babel_locale())
    return value


def render_message(msgid: str, params: Mapping[str, Any] | None = None) -> str:
    """`msgid` translated into the current request's language, with `params` filled in."""
    from portal.lib.i18n import gettext

    text = gettext(msgid) if msgid else msgid
    if not params:
        return text
    try:
        return text % {key: _shown(value) for key, value in params.items()}
    except (KeyError, TypeError, ValueError):
        # A translation that names a parameter differently must not turn a refusal into a 500.
        return msgid % {key: _shown(value) for key, value in params.items()}


class FieldError:
    """One problem with one input field; `pointer` is a JSON pointer (`/amount`) or a form field name.

    `detail` is rendered in the reader's language from the msgid given and its `params`.
    """

    __slots__ = ("code", "msgid", "params", "pointer")

    def __init__(
        self, pointer: str, detail: str, code: str = "invalid", params: Mapping[str, Any] | None = None
    ) -> None:
        self.pointer = pointer
        self.msgid = detail
        self.code = code
        self.params = dict(params or {})

    @property
    def detail(self) -> str:
        return render_message(self.msgid, self.params)

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail, "code": self.code}

    def with_pointer(self, pointer: str) -> FieldError:
        return FieldError(pointer, self.msgid, self.code, self.params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.pointer, self.msgid, self.code, self.params) == (
            other.pointer,
            other.msgid,
            other.code,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.pointer, self.msgid, self.code))

    def __repr__(self) -> str:
        return f"FieldError({self.pointer!r}, {self.msgid!r}, code={self.code!r}, params={self.params!r})"


class NeracaError(Exception):
    """A failure the user can act on: a stable machine `code`, an HTTP status and one clear sentence.

    `detail` and `title` are rendered in the current request's language each time they are read.
    """

    status: int = 400
    code: str = "bad_request"
    title_msgid: str = N_("Bad request")

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
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.msgid = detail
        self.params: dict[str, Any] = dict(params or {})
        if code is not None:
            self.code = code
        if title is not None:
            self.title_msgid = title
        if status is not None:
            self.status = status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def detail(self) -> str:
        return render_message(self.msgid, self.params)

    @detail.setter
    def detail(self, value: str) -> None:
        self.msgid = value
        self.params = {}

    @property
    def title(self) -> str:
        return render_message(self.title_msgid)

    def __str__(self) -> str:
        return self.detail


class ValidationFailed(NeracaError):
    status = 422
    code = "validation_failed"
    title_msgid = N_("The request has invalid fields")


class Unauthorized(NeracaError):
    status = 401
    code = "unauthorized"
    title_msgid = N_("Authentication required")


class Forbidden(NeracaError):
    status = 403
    code = "forbidden"
    title_msgid = N_("Not allowed")


class NotFound(NeracaError):
    status = 404
    code = "not_found"
    title_msgid = N_("Not found")


class Conflict(NeracaError):
    status = 409
    code = "conflict"
    title_msgid = N_("Conflict")


class RateLimited(NeracaError):
    status = 429
    code = "rate_limited"
    title_msgid = N_("Too many requests")

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(NeracaError):
    status = 503
    code = "service_unavailable"
    title_msgid = N_("Service unavailable")
