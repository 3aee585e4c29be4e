"""The core shared by ``Neraca`` and ``AsyncNeraca``.

Everything except the transport call and the sleep lives here, written once: configuration, URL and
body encoding, request signing, the retry decision, error mapping and response decoding.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Final, Generic, Self, TypeVar
from urllib.parse import quote

import httpx

from . import _signing
from ._convert import ConversionError, construct
from ._retry import DEFAULT_POLICY, is_retryable_status, parse_retry_after, retry_delay, retry_limit
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    NeracaError,
    make_status_error,
)
from .models import Page

__all__ = ["NOT_GIVEN", "BaseClient", "Call", "ListCall", "NotGiven"]

T = TypeVar("T")

log = logging.getLogger("neraca")

API_PREFIX: Final = "/api/v1"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RETRIES: Final = 2
USER_AGENT: Final = f"neraca-python/{__version__}"


class NotGiven(Enum):
    """Marker for "argument not passed", distinct from None (which, on update, means "clear it")."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One logical API call as a resource describes it: what to send and how to read the answer."""

    method: str
    path: str
    cast: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    """None sends no body at all (no Content-Type, no Digest line)."""
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListCall(Generic[T]):
    """A list endpoint: the same query on every page, with ``after`` set from the previous page."""

    path: str
    params: Mapping[str, Any]
    parse_page: Callable[[Any], Page[T]]

    def page(self, after: str | None) -> Call[Page[T]]:
        """The call that fetches the page starting after cursor ``after`` (None for the first)."""
        params = dict(self.params)
        if after is not None:
            params["after"] = after
        return Call("GET", self.path, self.parse_page, params=params)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A call made ready to send: the body serialized once, the idempotency key fixed once."""

    method: str
    url: str
    params: list[tuple[str, str | int | float | bool | None]]
    content: bytes | None
    request_id: str
    reuse_request_id: bool


def path(template: str, *ids: str) -> str:
    """Fill ``{}`` placeholders with ids, percent-encoded so an id can never change the route."""
    for value in ids:
        if not isinstance(value, str) or not value:
            raise ValueError(f"an id must be a non-empty string, got {value!r}")
    return template.format(*(quote(value, safe="") for value in ids))


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop arguments that were not given (None or NOT_GIVEN) so the server applies its defaults."""
    return {k: v for k, v in values.items() if v is not None and v is not NOT_GIVEN}


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop only NOT_GIVEN: on update, an explicit None is sent as JSON null to clear the field."""
    return {k: v for k, v in values.items() if v is not NOT_GIVEN}


def require_amount(value: object, name: str = "amount") -> int:
    """Amounts are integers in minor units; refuse floats, Decimals, strings and booleans early."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in minor units (e.g. 150000 for Rp150.000), got {value!r}")
    return value


def format_moment(value: datetime) -> str:
    """A datetime as the API wants it: ISO 8601 in UTC with ``Z``; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no timezone; pass an aware datetime (e.g. tzinfo=UTC)")
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def format_date(value: date | str) -> str:
    """A calendar date as ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        raise TypeError("pass a date, not a datetime, for a statement period")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"unsupported query parameter value {value!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Serialize a JSON body once; these exact bytes are both sent and digested into the signature."""
    return json.dumps(
        body, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    ).encode("utf-8")


def model_parser(cls: type[T]) -> Callable[[Any], T]:
    """A cast function that builds model ``cls`` from decoded JSON."""

    def parse(data: Any) -> T:
        return construct(cls, data)

    return parse


def page_parser(cls: type[T]) -> Callable[[Any], Page[T]]:
    """A cast function for a list envelope ``{"data": [...], "has_more", "next_cursor"}``."""

    def parse(data: Any) -> Page[T]:
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ConversionError("data", "expected a list envelope with a 'data' array")
        items = [construct(cls, item, path=f"data[{i}]") for i, item in enumerate(data["data"])]
        has_more = data.get("has_more")
        if not isinstance(has_more, bool):
            raise ConversionError("has_more", f"expected a boolean, got {has_more!r}")
        cursor = data.get("next_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise ConversionError("next_cursor", f"expected a string or null, got {cursor!r}")
        return Page(data=items, has_more=has_more, next_cursor=cursor, raw=data)

    return parse


def download_error(request: httpx.Request, exc: httpx.RequestError) -> APIConnectionError:
    """The SDK error for a transfer that broke while a file was being downloaded (not retried)."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(f"Download interrupted: {exc!s} ({type(exc).__name__})", request=request)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _resolve_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise NeracaError(f"base_url must start with http:// or https://, got {base_url!r}")
    # Accept both the server's root and the API root: "https://neraca.example" or ".../api/v1".
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def _check_max_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {value!r}")
    return value


class BaseClient:
    """Configuration and the I/O-free half of every request; subclassed by the sync and async clients."""

    _clock: Callable[[], datetime]
    _random: Callable[[], float]
    _owns_http: bool

    def __init__(
        self,
        *,
        client_id: str | None,
        client_secret: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
    ) -> None:
        client_id = client_id or os.environ.get("NERACA_CLIENT_ID")
        client_secret = client_secret or os.environ.get("NERACA_CLIENT_SECRET")
        base_url = base_url or os.environ.get("NERACA_BASE_URL")
        missing = [
            f"{arg}= (or the {env} environment variable)"
            for arg, env, value in (
                ("client_id", "NERACA_CLIENT_ID", client_id),
                ("client_secret", "NERACA_CLIENT_SECRET", client_secret),
                ("base_url", "NERACA_BASE_URL", base_url),
            )
            if not value
        ]
        if missing:
            raise NeracaError("Neraca client is missing configuration: pass " + ", ".join(missing))
        assert client_id and client_secret and base_url  # narrowed by the check above
        self.client_id: str = client_id
        self._client_secret: str = client_secret
        self.base_url: str = _resolve_base_url(base_url)
        self.timeout: httpx.Timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        )
        self.max_retries: int = _check_max_retries(max_retries)
        # Seams for tests: a fixed clock for signatures and a fixed random source for jitter.
        self._clock = _utcnow
        self._random = random.random

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy with other settings that sends through the same connection pool.

        Example: ``client.with_options(max_retries=0).transfers.create(...)``. The copy never closes
        the shared HTTP client; close the original when done.
        """
        clone = copy.copy(self)
        clone._owns_http = False
        if not isinstance(timeout, NotGiven):
            clone.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        if not isinstance(max_retries, NotGiven):
            clone.max_retries = _check_max_retries(max_retries)
        return clone

    def __repr__(self) -> str:
        # Never show the secret.
        return f"{type(self).__name__}(client_id={self.client_id!r}, base_url={self.base_url!r})"

    # --- preparing and signing -------------------------------------------------------------------

    def _prepare(self, call: Call[Any]) -> Prepared:
        params: list[tuple[str, str | int | float | bool | None]] = [
            (k, _query_value(v)) for k, v in (call.params or {}).items() if v is not None
        ]
        method = call.method.upper()
        return Prepared(
            method=method,
            url=self.base_url + call.path,
            params=params,
            content=None if call.body is None else encode_body(call.body),
            request_id=call.request_id or str(uuid.uuid4()),
            # The contract makes Request-Id the idempotency key on POST, but a nonce everywhere else:
            # a GET or PATCH retried with the same id would be refused as `request_id_reused`.
            reuse_request_id=method == "POST",
        )

    def _request_id_for(self, prepared: Prepared, attempt: int) -> str:
        if attempt == 0 or prepared.reuse_request_id:
            return prepared.request_id
        return str(uuid.uuid4())

    def _build_request(
        self, http_client: httpx.Client | httpx.AsyncClient, prepared: Prepared, attempt: int
    ) -> httpx.Request:
        """Build and sign one attempt: fresh timestamp and signature, Request-Id per the reuse rule."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if prepared.content is not None:
            headers["Content-Type"] = "application/json"
        request = http_client.build_request(
            prepared.method,
            prepared.url,
            params=prepared.params or None,
            content=prepared.content,
            headers=headers,
            timeout=self.timeout,
        )
        # Sign what goes on the wire, after httpx has encoded the path and query.
        target = request.url.raw_path.decode("ascii")
        request.headers.update(
            _signing.signature_headers(
                client_id=self.client_id,
                client_secret=self._client_secret,
                request_id=self._request_id_for(prepared, attempt),
                timestamp=_signing.format_timestamp(self._clock()),
                target=target,
                body=prepared.content,
            )
        )
        return request

    # --- deciding what to do with an outcome --------------------------------------------------------

    def _retry_after_transport_error(
        self, request: httpx.Request, exc: httpx.RequestError, attempt: int
    ) -> float:
        """Return the delay before the next attempt, or raise the SDK error when not retrying."""
        error: APIConnectionError
        if isinstance(exc, httpx.TimeoutException):
            error = APITimeoutError(
                f"Request timed out: {request.method} {request.url.path}", request=request
            )
        else:
            error = APIConnectionError(f"Connection error: {exc!s} ({type(exc).__name__})", request=request)
        # DecodingError and TooManyRedirects are not transient: a retry would fail the same way.
        if not isinstance(exc, httpx.TransportError) or attempt >= self.max_retries:
            raise error from exc
        delay = retry_delay(attempt, retry_after=None, random_value=self._random(), policy=DEFAULT_POLICY)
        self._log_retry(request, attempt, delay, type(exc).__name__)
        return delay

    def _retry_after_status(self, request: httpx.Request, response: httpx.Response, attempt: int) -> float:
        """For an error response (body already read): the delay before retrying, or raise its error."""
        error = make_status_error(response, request_id=request.headers.get("Request-Id"))
        limit = retry_limit(self.max_retries, response.status_code, error.code)
        if attempt >= limit or not is_retryable_status(response.status_code, error.code):
            raise error
        header = response.headers.get("Retry-After")
        retry_after = None if header is None else parse_retry_after(header, now=self._clock())
        delay = retry_delay(
            attempt, retry_after=retry_after, random_value=self._random(), policy=DEFAULT_POLICY
        )
        self._log_retry(request, attempt, delay, f"{response.status_code} {error.code or ''}".strip(), limit)
        return delay

    def _log_retry(
        self, request: httpx.Request, attempt: int, delay: float, reason: str, limit: int | None = None
    ) -> None:
        log.info(
            "Retrying %s %s in %.2fs (retry %d of %d) after %s [request_id=%s]",
            request.method,
            request.url.path,
            delay,
            attempt + 1,
            self.max_retries if limit is None else limit,
            reason,
            request.headers.get("Request-Id"),
        )

    def _parse(self, response: httpx.Response, cast: Callable[[Any], T]) -> T:
        """Decode a successful response into the call's result type."""
        if response.status_code == 204 or not response.content:
            data: Any = None
        else:
            try:
                data = json.loads(response.content)
            except (ValueError, UnicodeDecodeError) as exc:
                raise APIResponseValidationError(
                    f"Expected JSON from {response.request.method} {response.request.url.path}, "
                    f"got {response.headers.get('Content-Type', 'no content type')}",
                    response=response,
                ) from exc
        try:
            return cast(data)
        except ConversionError as exc:
            raise APIResponseValidationError(
                f"Unexpected response from {response.request.method} {response.request.url.path}: {exc}",
                response=response,
            ) from exc
