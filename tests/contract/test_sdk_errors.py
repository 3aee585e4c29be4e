"""Every kind of API error reaches the caller as the matching SDK exception with its `code`, from the
real server (blocking and asyncio clients)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import neraca
import pytest

from tests.support.contract import Key, collect, first, funded, ref, res


async def raises(cls: type[neraca.APIStatusError], code: str, call: Callable[[], Any]) -> Any:
    """Run `call` (an SDK call from either client); assert it raises `cls` with `code`; return it."""
    with pytest.raises(cls) as info:
        await res(call())
    error = info.value
    assert error.code == code, (error.status_code, error.code, error.detail)
    assert error.status_code == error.response.status_code
    assert error.request_id, "every problem names the request"
    assert error.detail
    return error


def kind_of(sdk: Any) -> str:
    return "sync" if isinstance(sdk, neraca.Neraca) else "async"


async def closing(client: Any) -> None:
    closed = client.close()
    if isinstance(closed, Awaitable):
        await closed


async def test_authentication_errors(sdk: Any, key: Key) -> None:
    wrong = key.client(kind_of(sdk), client_secret="not-the-secret", max_retries=0)
    error = await raises(neraca.AuthenticationError, "invalid_signature", lambda: wrong.me.retrieve())
    assert error.status_code == 401 and isinstance(error, neraca.APIStatusError)
    await closing(wrong)

    unknown = key.client(kind_of(sdk), client_id="key_doesnotexist", max_retries=0)
    await raises(neraca.AuthenticationError, "unauthorized", lambda: unknown.accounts.list().first())
    await closing(unknown)

    skewed = key.client(kind_of(sdk), max_retries=0)
    skewed._clock = lambda: datetime(2020, 1, 1, tzinfo=UTC)  # the signing clock seam
    await raises(neraca.AuthenticationError, "timestamp_out_of_range", lambda: skewed.me.retrieve())
    await closing(skewed)


async def test_not_found(sdk: Any, key_factory: Any) -> None:
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.accounts.retrieve("acc_doesnotexist"))
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.transfers.retrieve("trf_doesnotexist"))
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.holds.void("hld_doesnotexist"))
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.balances.retrieve("acc/../../me"))
    other = (await key_factory()).client("sync")
    foreign = other.accounts.list(kind="main").first()
    other.close()
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.accounts.retrieve(foreign.id))
    await raises(neraca.NotFoundError, "not_found", lambda: sdk.balances.retrieve(foreign.id))


async def test_conflicts(sdk: Any) -> None:
    main, division, _partner = await funded(sdk)
    await res(
        sdk.transfers.create(from_account_id=main.id, to_account_id=division.id, amount=1, reference="ONCE")
    )
    error = await raises(
        neraca.ConflictError,
        "duplicate_reference",
        lambda: sdk.transfers.create(
            from_account_id=main.id, to_account_id=division.id, amount=2, reference="ONCE"
        ),
    )
    assert error.status_code == 409
    hold = await res(
        sdk.holds.create(from_account_id=main.id, to_account_id=division.id, amount=5, reference=ref("H"))
    )
    await res(sdk.holds.void(hold.id))
    await raises(neraca.ConflictError, "hold_not_pending", lambda: sdk.holds.post(hold.id))


async def test_unprocessable(sdk: Any) -> None:
    main, division, _partner = await funded(sdk, 10_000)
    error = await raises(
        neraca.UnprocessableEntityError,
        "insufficient_funds",
        lambda: sdk.transfers.create(
            from_account_id=division.id, to_account_id=main.id, amount=5_000, reference=ref("T")
        ),
    )
    assert error.status_code == 422
    error = await raises(
        neraca.UnprocessableEntityError,
        "validation_failed",
        lambda: sdk.transfers.create(
            from_account_id=main.id, to_account_id=division.id, amount=0, reference=ref("T")
        ),
    )
    assert [e.pointer for e in error.errors] == ["/amount"]
    await raises(
        neraca.UnprocessableEntityError,
        "same_account",
        lambda: sdk.transfers.create(
            from_account_id=main.id, to_account_id=main.id, amount=1, reference=ref("T")
        ),
    )
    error = await raises(
        neraca.UnprocessableEntityError,
        "validation_failed",
        lambda: sdk.accounts.update(
            division.id, settlement_bank={"bank_code": "999", "account_number": "1", "holder_name": "x"}
        ),
    )
    assert error.errors and error.errors[0].pointer.startswith("/settlement_bank")
    await raises(
        neraca.UnprocessableEntityError,
        "unknown_field",
        lambda: sdk.transfers.create_group(
            reference=ref("G"),
            transfers=[{"from_account_id": main.id, "to_account_id": division.id, "amount": 1, "balance": 9}],
        ),
    )


async def test_idempotent_replay_and_key_reuse(sdk: Any) -> None:
    main, division, _partner = await funded(sdk)
    request_id = f"budget-{uuid.uuid4().hex}"

    def send(amount: int) -> Any:
        return sdk.transfers.create(
            from_account_id=main.id,
            to_account_id=division.id,
            amount=amount,
            reference="BUDGET-1",
            request_id=request_id,
        )

    original = await res(send(250_000))
    replayed = await res(send(250_000))
    assert replayed == original and replayed.raw == original.raw
    assert len(await collect(sdk.transfers.list(reference="BUDGET-1"))) == 1
    assert (await res(sdk.balances.retrieve(division.id))).available == 250_000
    await raises(neraca.UnprocessableEntityError, "idempotency_key_reused", lambda: send(1))


async def test_permission_denied(sdk: Any, key: Key) -> None:
    main = await first(sdk.accounts.list(kind="main"))
    viewer = await key.sibling(frozenset({"accounts:view"}))
    client = viewer.client(kind_of(sdk))
    assert (await res(client.accounts.retrieve(main.id))).id == main.id  # what the key may do works
    error = await raises(
        neraca.PermissionDeniedError,
        "forbidden",
        lambda: client.transfers.create(
            from_account_id=main.id, to_account_id=main.id, amount=1, reference="X"
        ),
    )
    assert error.status_code == 403
    await raises(
        neraca.PermissionDeniedError,
        "forbidden",
        lambda: client.accounts.create(name="X", kind="division", parent_id=main.id),
    )
    await raises(neraca.PermissionDeniedError, "forbidden", lambda: client.transfers.list().first())
    await closing(client)
