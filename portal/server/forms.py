"""One way to handle a portal form post.

- `posted` reads the form (text fields only, one value each); `read_form` also checks every field
  with the edge's text rules (`portal.lib.forms.text_error`), so NUL, control characters, direction
  overrides and zero-width characters in ids never reach a service from a form either.
- `field_errors` maps a refusal's field errors to form field names (`{"amount": ["…"]}`; a refusal
  without field errors goes under `__all__`).
- `shown_on_form` is the rule for which refusals re-render the form with 422: invalid input (422) and a
  conflict (409). Every other refusal becomes the error page: 403, 429, 5xx and every 404 (an object of
  another business or outside the actor's scope is "not found", never an error next to a field).
- `handle_form` puts them together: read, act, re-render with 422 or answer success with a 303
  (`see_other`); `leave_page` is the success for a form inside a part of the page (an htmx client
  redirect, so the whole page goes).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response, Router
from litestar.plugins.htmx import ClientRedirect, HTMXDetails
from litestar.response import Redirect

from portal.lib.errors import N_, FieldError, NeracaError, ValidationFailed
from portal.lib.forms import field_kind, text_error

T = TypeVar("T")
Render = Callable[[dict[str, str], dict[str, list[str]], str], Awaitable[Response[Any]]]

# A refused character is shown back in the form as this, so the page never carries it.
REPLACEMENT = "\ufffd"


def pages_router(actor_dependency: Any, handlers: list[Any]) -> Router:
    """A domain's portal pages under one router carrying what they share: left out of the API schema,
    the `actor` dependency available to every handler that names it."""
    return Router(
        path="/", include_in_schema=False, dependencies={"actor": actor_dependency}, route_handlers=handlers
    )


def htmx(request: Request[Any, Any, Any]) -> HTMXDetails:
    """The request's htmx details (`HTMXRequest` is the app's request class)."""
    details = getattr(request, "htmx", None)
    return details if isinstance(details, HTMXDetails) else HTMXDetails(request)


async def posted(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted text fields, unchecked (files are ignored; a repeated field keeps one value)."""
    data = await request.form()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def text_errors(data: Mapping[str, str]) -> list[FieldError]:
    """Every field's text checked by its kind (names, free text, tokens)."""
    errors = []
    for name, value in data.items():
        problem = text_error(name, name) or text_error(name, value, field_kind(name))
        if problem is not None:
            errors.append(problem)
    return errors


def check_text(data: Mapping[str, str]) -> None:
    errors = text_errors(data)
    if errors:
        raise ValidationFailed(N_("Some fields hold characters that cannot be used."), errors=errors)


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted text fields, each checked (ValidationFailed naming every bad field)."""
    data = await posted(request)
    check_text(data)
    return data


def shown_back(data: Mapping[str, str]) -> dict[str, str]:
    """The form's values to show again, with refused characters replaced."""
    clean = {}
    for name, value in data.items():
        if text_error(name, value, field_kind(name)) is not None:
            value = "".join(
                ch if text_error(name, ch, field_kind(name)) is None else REPLACEMENT for ch in value
            )
        clean[name] = value
    return clean


def field_errors(errors: list[FieldError], detail: str = "") -> dict[str, list[str]]:
    """Field errors by form field name (the last segment of the pointer); `__all__` for the rest."""
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.pointer.strip("/").split("/")[-1] or "__all__", []).append(error.detail)
    if not out and detail:
        out["__all__"] = [detail]
    return out


def shown_on_form(exc: NeracaError) -> bool:
    """Refusals the form shows next to its fields; anything else is an error page."""
    return exc.status in (409, 422)


def see_other(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """Success: 303 to `url` (htmx follows it and swaps the page it leads to)."""
    return Redirect(url, status_code=303)


def leave_page(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """Success that leaves the page: a whole-page htmx client redirect for a non-boosted htmx request
    (whose target is only a part of the page), else 303."""
    details = htmx(request)
    if details and not details.boosted:
        response = ClientRedirect(url)
        response.status_code = 200
        return response
    return see_other(request, url)


def query(base: str, **params: str | None) -> str:
    """`base?k=v…` with the empty parameters left out, encoded with urlencode."""
    values = {key: value for key, value in params.items() if value}
    return f"{base}?{urlencode(values)}" if values else base


async def refusal(render: Render, data: Mapping[str, str], exc: NeracaError) -> Response[Any]:
    """The form again with the refusal next to its fields, answered with 422."""
    response = await render(shown_back(data), field_errors(exc.errors, exc.detail), exc.detail)
    response.status_code = 422
    return response


async def handle_form(
    request: Request[Any, Any, Any],
    action: Callable[[dict[str, str]], Awaitable[T]],
    *,
    render: Render,
    success: Callable[[T], str | Response[Any] | Awaitable[str | Response[Any]]],
) -> Response[Any]:
    """Read and check the form, run `action` with it; a refusal shown on the form re-renders it with
    422 (`render(data, errors, message)`), any other refusal propagates to the error page; success is
    `success(result)`: a URL answered with `see_other`, or a response of its own."""
    data = await posted(request)
    try:
        check_text(data)
        result = await action(data)
    except NeracaError as exc:
        if not shown_on_form(exc):
            raise
        return await refusal(render, data, exc)
    outcome = success(result)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return see_other(request, outcome) if isinstance(outcome, str) else outcome
