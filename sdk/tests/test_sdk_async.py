"""AsyncNeraca behaves like Neraca: same resources and arguments, same signing, retries, errors, paging."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import (
    CLIENT_ID,
    Recorder,
    Sleeps,
    account_json,
    balance_json,
    expected_signature,
    make_async_client,
    make_client,
    page_json,
    problem,
    transfer_json,
)

from neraca import (
    APITimeoutError,
    AsyncNeraca,
    AsyncPager,
    ConflictError,
    Neraca,
    Transfer,
    UnprocessableEntityError,
)


def files_in(folder: Path) -> dict[str, bytes]:
    """What a folder holds (a plain function: the async tests should not touch the disk themselves)."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


RESOURCES = ["me", "accounts", "balances", "transfers", "holds", "topups", "withdrawals", "statements"]


def public_methods(obj: object) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(obj, name))
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


@pytest.mark.parametrize("resource", RESOURCES)
def test_async_resources_mirror_the_sync_ones(resource: str) -> None:
    sync_client = make_client(Recorder([httpx.Response(200, json={})]))
    async_client = make_async_client(Recorder([httpx.Response(200, json={})]))
    sync_methods = public_methods(getattr(sync_client, resource))
    async_methods = public_methods(getattr(async_client, resource))
    assert sync_methods.keys() == async_methods.keys()
    for name, signature in sync_methods.items():
        assert list(signature.parameters.values()) == list(async_methods[name].parameters.values()), name
        method = getattr(getattr(async_client, resource), name)
        # list()/entries() return async pagers; everything else is a coroutine function.
        assert inspect.iscoroutinefunction(method) is (name not in ("list", "entries")), name


def test_client_constructors_take_the_same_arguments() -> None:
    sync_params = inspect.signature(Neraca).parameters
    async_params = inspect.signature(AsyncNeraca).parameters
    assert sync_params.keys() == async_params.keys()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in async_params.values())


async def test_async_requests_are_signed_the_same_way() -> None:
    recorder = Recorder([httpx.Response(200, json=transfer_json())])
    async with make_async_client(recorder) as client:
        transfer = await client.transfers.create(
            from_account_id="acc_main", to_account_id="acc_div1", amount=150000, reference="INV-1"
        )
    assert isinstance(transfer, Transfer) and transfer.amount == 150000
    (request,) = recorder.requests
    assert request.headers["Client-Id"] == CLIENT_ID
    assert request.headers["Signature"] == expected_signature(request)
    assert json.loads(request.content)["amount"] == 150000


async def test_async_post_retries_reuse_the_request_id() -> None:
    sleeps = Sleeps()
    recorder = Recorder(
        [
            httpx.ReadTimeout("slow"),
            problem(409, "request_in_progress"),
            httpx.Response(200, json=transfer_json()),
        ]
    )
    client = make_async_client(recorder, sleeps)
    await client.transfers.create(from_account_id="a", to_account_id="b", amount=5, reference="r")
    assert len(recorder.requests) == 3
    assert len({r.headers["Request-Id"] for r in recorder.requests}) == 1
    assert all(r.headers["Signature"] == expected_signature(r) for r in recorder.requests)
    assert len(sleeps.delays) == 2


async def test_async_get_retries_use_fresh_request_ids() -> None:
    recorder = Recorder(
        [problem(503, "unavailable", **{"Retry-After": "2"}), httpx.Response(200, json=balance_json())]
    )
    sleeps = Sleeps()
    client = make_async_client(recorder, sleeps)
    await client.balances.retrieve("acc_div1")
    first, second = recorder.requests
    assert first.headers["Request-Id"] != second.headers["Request-Id"]
    assert sleeps.delays == [2.0]


async def test_async_errors_map_like_sync() -> None:
    recorder = Recorder(
        [
            problem(
                422,
                "insufficient_funds",
                "1000 available",
                errors=[{"pointer": "/amount", "detail": "too big"}],
            )
        ]
    )
    client = make_async_client(recorder)
    with pytest.raises(UnprocessableEntityError) as info:
        await client.transfers.create(
            from_account_id="a", to_account_id="b", amount=5000, reference="r", request_id="rid-1"
        )
    assert info.value.code == "insufficient_funds"
    assert info.value.errors[0].pointer == "/amount"
    assert info.value.request_id == "req_from_body"
    assert len(recorder.requests) == 1


async def test_async_duplicate_reference_is_not_retried() -> None:
    recorder = Recorder([problem(409, "duplicate_reference")])
    client = make_async_client(recorder)
    with pytest.raises(ConflictError):
        await client.topups.create(account_id="acc_main", amount=10000, reference="TOP-1")
    assert len(recorder.requests) == 1


async def test_async_timeouts_raise_api_timeout_after_retries() -> None:
    recorder = Recorder([httpx.ConnectTimeout("slow")])
    client = make_async_client(recorder)
    with pytest.raises(APITimeoutError):
        await client.me.retrieve()
    assert len(recorder.requests) == 3


async def test_async_pagination_follows_next_cursor() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        after = parse_qs(request.url.query.decode()).get("after", [None])[0]
        pages = {
            None: page_json([account_json(id="acc_1"), account_json(id="acc_2")], "c1"),
            "c1": page_json([account_json(id="acc_3")], None),
        }
        return httpx.Response(200, json=pages[after])

    recorder = Recorder([handler])
    client = make_async_client(recorder)
    pager = client.accounts.list(kind="division")
    assert isinstance(pager, AsyncPager)
    assert recorder.requests == []
    ids = [account.id async for account in pager]
    assert ids == ["acc_1", "acc_2", "acc_3"]
    assert len(recorder.requests) == 2
    page = await client.accounts.list(kind="division").page(after="c1")
    assert [a.id for a in page.data] == ["acc_3"] and page.has_more is False
    first = await client.accounts.list().first()
    assert first is not None and first.id == "acc_1"
    assert [len(p.data) async for p in client.accounts.list().pages()] == [2, 1]


async def test_async_download(tmp_path: Path) -> None:
    recorder = Recorder([httpx.Response(200, content=b"%PDF-1.7 statement")])
    client = make_async_client(recorder)
    target = await client.statements.download(
        account_id="acc_1", start="2026-11-01", end="2026-11-30", format="pdf", path=tmp_path / "s.pdf"
    )
    assert files_in(tmp_path) == {"s.pdf": b"%PDF-1.7 statement"}
    assert target == tmp_path / "s.pdf"


async def test_async_with_options_and_close() -> None:
    recorder = Recorder([problem(500, "internal")])
    client = make_async_client(recorder)
    quiet = client.with_options(max_retries=0)
    assert isinstance(quiet, AsyncNeraca) and quiet._http is client._http
    with pytest.raises(Exception, match="500"):
        await quiet.accounts.retrieve("acc_1")
    assert len(recorder.requests) == 1
    await quiet.close()
    assert not client._http.is_closed


async def test_async_client_refuses_a_sync_http_client() -> None:
    with pytest.raises(TypeError, match="AsyncClient"):
        AsyncNeraca(client_id="c", client_secret="s", base_url="http://x", http_client=httpx.Client())  # type: ignore[arg-type]
