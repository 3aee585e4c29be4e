"""Every SDK method that sends a POST takes ``request_id=`` and sends it as the ``Request-Id`` header.

The Request-Id of a POST is its idempotency key: a caller derives it from its own record so that a call
repeated after its own process crashed is answered, not done twice. The walk below calls every public
method of every resource of both clients with placeholder arguments built from its signature; the
transport keeps the request and stops the call, since only what was sent matters here.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sdk_support import Recorder, make_async_client, make_client

from neraca import AsyncNeraca, Neraca
from neraca.resources._base import AsyncResource, SyncResource

OWN_ID = "rid-1"
# Arguments the SDK checks before sending (one of several, a known format, a non-empty list), by method.
EXTRA: dict[str, dict[str, Any]] = {
    "delete_execute_date": {"invoice_number": "x"},
    "download": {"format": "csv"},
    "create_group": {"transfers": [{"from_account_id": "x", "to_account_id": "x", "amount": 1}]},
}


class Sent(Exception):
    """Raised by the transport once it kept the request: nothing needs to be answered."""


def stop(request: httpx.Request) -> httpx.Response:
    raise Sent


def resources(client: Neraca | AsyncNeraca) -> list[tuple[str, SyncResource | AsyncResource]]:
    """The client's resource attributes (``client.invoices`` and friends)."""
    found = []
    for name, member in inspect.getmembers(type(client)):
        if name.startswith("_") or not isinstance(member, property):
            continue
        resource = getattr(client, name)
        if isinstance(resource, SyncResource | AsyncResource):
            found.append((name, resource))
    return found


def placeholder(name: str, annotation: str, tmp_path: Path) -> Any:
    """A value of the parameter's annotated type; the server never sees it."""
    if "bytes" in annotation:
        return b"x"
    if "PathLike" in annotation:
        return tmp_path / f"{name}.bin"
    if annotation.startswith("date"):
        return date(2026, 11, 30)
    if annotation.startswith("bool"):
        return True
    if annotation.startswith("int"):
        return 1
    if annotation.startswith(("list", "Sequence")):
        return []
    if annotation.startswith(("dict", "Mapping")):
        return {}
    return "x"


def arguments(method: Callable[..., Any], tmp_path: Path) -> tuple[list[Any], dict[str, Any]]:
    """Placeholders for the required parameters, and ``request_id`` when the method takes it."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, parameter in inspect.signature(method).parameters.items():
        if name == "request_id":
            kwargs[name] = OWN_ID
            continue
        if parameter.default is not inspect.Parameter.empty or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        value = placeholder(name, str(parameter.annotation), tmp_path)
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return args, kwargs


def public_methods(resource: object) -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(resource, inspect.ismethod)
        if not name.startswith("_")
    ]


def walk(
    client: Neraca | AsyncNeraca, recorder: Recorder, tmp_path: Path, run: Callable[[Any], None]
) -> tuple[list[str], list[str]]:
    """Call every public method once; return the methods that sent a POST and what is wrong with them."""
    posts: list[str] = []
    wrong: list[str] = []
    for resource_name, resource in resources(client):
        for name, method in public_methods(resource):
            label = f"{type(client).__name__}.{resource_name}.{name}"
            args, kwargs = arguments(method, tmp_path)
            kwargs.update(EXTRA.get(name, {}))
            before = len(recorder.requests)
            try:
                run(method(*args, **kwargs))
            except Sent:
                pass
            except Exception as exc:  # a method the walk cannot call would go unchecked
                wrong.append(f"{label} refused its placeholders: {exc!r}")
                continue
            sent = recorder.requests[before:]
            if not sent or sent[0].method != "POST":
                continue
            posts.append(label)
            if "request_id" not in kwargs:
                wrong.append(f"{label} takes no request_id=")
            elif sent[0].headers.get("Request-Id") != OWN_ID:
                wrong.append(f"{label} sent Request-Id {sent[0].headers.get('Request-Id')!r}")
    return posts, wrong


def consume(result: Any) -> None:
    """Sync methods send when called (pagers only when iterated, and they GET)."""


def test_every_sync_post_method_sends_the_callers_request_id(tmp_path: Path) -> None:
    recorder = Recorder([stop])
    posts, wrong = walk(make_client(recorder), recorder, tmp_path, consume)
    # The walk must reach the POST methods at all, or the check below would hold vacuously.
    assert {"Neraca.invoices.void", "Neraca.payouts.cancel", "Neraca.transfers.create"} <= set(posts)
    assert not wrong, "\n".join(wrong)


def test_every_async_post_method_sends_the_callers_request_id(tmp_path: Path) -> None:
    recorder = Recorder([stop])
    loop = asyncio.new_event_loop()

    def run(result: Any) -> None:
        if inspect.isawaitable(result):
            loop.run_until_complete(result)

    try:
        posts, wrong = walk(make_async_client(recorder), recorder, tmp_path, run)
    finally:
        loop.close()
    assert {"AsyncNeraca.invoices.void", "AsyncNeraca.payouts.cancel", "AsyncNeraca.transfers.create"} <= set(
        posts
    )
    assert not wrong, "\n".join(wrong)
