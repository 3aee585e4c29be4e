"""Input checked once, at the edge, before any handler runs: every query parameter, every path segment
and every JSON body of every route: `check_address` (the outermost middleware) for the query and the
path, `check_body` (an app-level guard) for JSON bodies.

- bytes that are not UTF-8 (percent-escaped in the query or path, or in a JSON body): 400
  `invalid_encoding`;
- text `portal.lib.forms.text_error` refuses (NUL and other control characters, lone surrogates,
  direction overrides, zero-width characters in ids and references), over-long parameters, JSON nested
  deeper than `MAX_JSON_DEPTH`, duplicate JSON keys: 422 `invalid_input` with a field pointer (`/name`
  of the parameter, or the JSON pointer of the value).

JSON that does not parse is left to the handler's own decoding (msgspec), which answers it. Portal
forms are checked by the form helper (`portal/server/forms.py`), so a bad field re-renders its form.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.lib.errors import N_, FieldError, NeracaError, ValidationFailed
from portal.lib.forms import field_kind, text_error

MAX_JSON_DEPTH = 16
MAX_PARAM_CHARS = 1_000
MAX_PATH_PARAM_CHARS = 200
MAX_FIELD_ERRORS = 20
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class InvalidEncoding(NeracaError):
    status = 400
    code = "invalid_encoding"
    title_msgid = N_("Bad request")


def _refuse(errors: list[FieldError]) -> ValidationFailed:
    first = errors[0]
    return ValidationFailed(
        N_("%(field)s: %(problem)s"),
        params={"field": first.pointer.lstrip("/") or "body", "problem": first.detail},
        code="invalid_input",
        errors=errors,
    )


def _not_utf8(what: str) -> InvalidEncoding:
    return InvalidEncoding(what, errors=[FieldError("/", N_("not valid UTF-8"), "invalid_encoding")])


def _parameter_error(pointer: str, value: str, kind: str, limit: int) -> FieldError | None:
    problem = text_error(pointer, value, kind)
    if problem is None and len(value) > limit:
        problem = FieldError(pointer, N_("Use at most %(n)d characters."), "too_long", {"n": limit})
    return problem


def query_errors(query_string: bytes) -> list[FieldError]:
    """Every query parameter (name and value) checked as one line of text."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _not_utf8(N_("The query string is not valid UTF-8.")) from None
    errors = []
    for name, value in pairs:
        pointer = "/" + name[:40]
        # A query parameter is one line, whatever its name.
        kind = "name" if field_kind(name) == "free" else field_kind(name)
        problem = text_error(pointer, name) or _parameter_error(pointer, value, kind, MAX_PARAM_CHARS)
        if problem is not None:
            errors.append(problem)
    return errors


def path_errors(raw_path: bytes, path_params: dict[str, Any]) -> list[FieldError]:
    """The raw path decodes as UTF-8; every string path parameter is a token of bounded length."""
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(N_("The address is not valid UTF-8.")) from None
    problems = (
        _parameter_error("/" + name, value, "token", MAX_PATH_PARAM_CHARS)
        for name, value in path_params.items()
        if isinstance(value, str)
    )
    return [problem for problem in problems if problem is not None]


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.duplicates = []
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key not in obj.duplicates:
                obj.duplicates.append(key)
            seen.add(key)
    return obj


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def json_errors(body: bytes) -> list[FieldError]:
    """A JSON body's strings checked by their field's kind; depth and duplicate keys refused.
    A body that does not parse gives no errors here (the handler's decoder answers it)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(N_("The request body is not valid UTF-8.")) from None
    try:
        document = json.loads(text, object_pairs_hook=_object)
    except RecursionError:
        return [_too_deep("")]
    except ValueError:
        return []
    errors: list[FieldError] = []
    _walk(document, "", "token", 0, errors)
    return errors


def _too_deep(pointer: str) -> FieldError:
    return FieldError(
        pointer or "/", N_("nested deeper than %(n)d levels"), "too_deep", {"n": MAX_JSON_DEPTH}
    )


def _walk(value: Any, pointer: str, kind: str, depth: int, errors: list[FieldError]) -> None:
    if len(errors) >= MAX_FIELD_ERRORS:
        return
    if isinstance(value, str):
        problem = text_error(pointer or "/", value, kind)
        if problem is not None:
            errors.append(problem)
        return
    if not isinstance(value, dict | list):
        return
    if depth >= MAX_JSON_DEPTH:
        errors.append(_too_deep(pointer))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{pointer}/{index}", kind, depth + 1, errors)
        return
    for key in getattr(value, "duplicates", []):
        errors.append(FieldError(f"{pointer}/{_escape(key)}", N_("given more than once"), "duplicate_key"))
    for key, item in value.items():
        child = f"{pointer}/{_escape(key)}"
        problem = text_error(child, key, "free" if kind == "free" else "token")
        if problem is not None:
            errors.append(problem)
            continue
        # Everything inside a free-text field (metadata) is free text; elsewhere the key names the kind.
        _walk(item, child, kind if kind == "free" else field_kind(key), depth + 1, errors)


def check_address(app: ASGIApp) -> ASGIApp:
    """The outermost middleware: the query string and the path parameters of every routed request are
    checked before any other middleware (authentication records the target) or handler sees them."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            errors = query_errors(scope.get("query_string", b""))
            raw_path = scope.get("raw_path") or scope.get("path", "").encode()
            errors += path_errors(raw_path, scope.get("path_params") or {})
            if errors:
                raise _refuse(errors[:MAX_FIELD_ERRORS])
        await app(scope, receive, send)

    return middleware


async def check_body(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The app-level guard: a JSON body is checked before the handler decodes it."""
    if (
        isinstance(connection, Request)
        and connection.method in BODY_METHODS
        and "json" in connection.headers.get("content-type", "")
    ):
        errors = json_errors(await connection.body())
        if errors:
            raise _refuse(errors[:MAX_FIELD_ERRORS])
