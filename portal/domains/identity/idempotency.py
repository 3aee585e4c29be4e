"""The API request a money write belongs to, so the write can complete the request's Request-Id claim in
its own transaction (docs/api-contract.md, "Idempotency").

The API layer (api_auth.py) opens a `RequestClaim` for every signed POST; the ledger engine reads it when
an operation is submitted and, in the batch transaction that books the money, records the booked object
on the claim (`api_request.booked_object_id`). A web process killed, or a PostgreSQL crash, between that
commit and the stored response then leaves a claim that says what was booked: a retry takes the claim
over (its process is gone) and runs again, and the services answer with what the first attempt booked
instead of refusing (the reference replays; a resolved hold's post or void is the hold as it is).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg


@dataclass
class RequestClaim:
    """A signed POST in flight: its key and Request-Id, and what an earlier attempt of it booked."""

    api_key_id: str
    request_id: str
    # Set when this attempt took over a claim whose earlier attempt's money committed.
    booked_object_id: str | None = None


_current: contextvars.ContextVar[RequestClaim | None] = contextvars.ContextVar(
    "api_request_claim", default=None
)


@contextmanager
def request_claim(api_key_id: str, request_id: str) -> Iterator[RequestClaim]:
    """The claim of the request being handled, for the money writes made while it runs."""
    claim = RequestClaim(api_key_id, request_id)
    token = _current.set(claim)
    try:
        yield claim
    finally:
        _current.reset(token)


def current() -> RequestClaim | None:
    """The signed POST this code runs for (None outside one: jobs, callbacks, pages)."""
    return _current.get()


def booked_earlier(object_id: str | None) -> bool:
    """Whether `object_id` is what an earlier attempt of the current request booked."""
    claim = _current.get()
    return object_id is not None and claim is not None and claim.booked_object_id == object_id


async def mark_booked(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """Record (api_key_id, request_id, object_id) on each claim, in the caller's (the money's)
    transaction: pipelined single-row updates by primary key, one round trip."""
    if rows:
        await conn.executemany(_MARK, sorted(rows))


_MARK = "UPDATE api_request SET booked_object_id = $3 WHERE api_key_id = $1 AND request_id = $2"
