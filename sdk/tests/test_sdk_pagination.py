"""Auto-paging: lists follow ``next_cursor`` lazily and stop where the server says."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import (
    Recorder,
    entry_json,
    make_client,
    page_json,
    statement_page_json,
    transfer_json,
)

from neraca import Page, StatementEntry, Transfer


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def by_cursor(pages: dict[str | None, httpx.Response]) -> Recorder:
    """An API that serves the page named by the request's ``after`` parameter."""

    def handler(request: httpx.Request) -> httpx.Response:
        after = query(request).get("after", [None])[0]
        return pages[after]

    return Recorder([handler])


def three_pages() -> Recorder:
    return by_cursor(
        {
            None: httpx.Response(
                200, json=page_json([transfer_json(id="trf_1"), transfer_json(id="trf_2")], "c1")
            ),
            "c1": httpx.Response(200, json=page_json([transfer_json(id="trf_3")], "c2/+=")),
            "c2/+=": httpx.Response(200, json=page_json([transfer_json(id="trf_4")], None)),
        }
    )


def test_iteration_follows_next_cursor_across_pages() -> None:
    recorder = three_pages()
    client = make_client(recorder)
    ids = [t.id for t in client.transfers.list(account_id="acc_div1", limit=2)]
    assert ids == ["trf_1", "trf_2", "trf_3", "trf_4"]
    assert [query(r).get("after") for r in recorder.requests] == [None, ["c1"], ["c2/+="]]
    # The filters ride along on every page.
    assert all(
        query(r)["account_id"] == ["acc_div1"] and query(r)["limit"] == ["2"] for r in recorder.requests
    )


def test_list_is_lazy_and_pages_are_fetched_on_demand() -> None:
    recorder = three_pages()
    client = make_client(recorder)
    pager = client.transfers.list()
    assert recorder.requests == []
    iterator = iter(pager)
    assert next(iterator).id == "trf_1"
    assert next(iterator).id == "trf_2"
    assert len(recorder.requests) == 1
    assert next(iterator).id == "trf_3"
    assert len(recorder.requests) == 2


def test_one_page_at_a_time() -> None:
    recorder = three_pages()
    client = make_client(recorder)
    pager = client.transfers.list()
    first = pager.page()
    assert isinstance(first, Page)
    assert [t.id for t in first.data] == ["trf_1", "trf_2"]
    assert first.has_more is True and first.next_cursor == "c1"
    assert all(isinstance(t, Transfer) for t in first.data)
    second = pager.page(after=first.next_cursor)
    assert [t.id for t in second.data] == ["trf_3"]
    assert len(recorder.requests) == 2


def test_pages_iterates_page_objects() -> None:
    client = make_client(three_pages())
    assert [len(p.data) for p in client.transfers.list().pages()] == [2, 1, 1]


def test_first() -> None:
    recorder = three_pages()
    client = make_client(recorder)
    first = client.transfers.list().first()
    assert first is not None and first.id == "trf_1"
    assert len(recorder.requests) == 1
    empty = make_client(Recorder([httpx.Response(200, json=page_json([], None))]))
    assert empty.accounts.list(kind="main").first() is None


def test_stops_when_has_more_is_false_even_with_a_cursor() -> None:
    recorder = Recorder(
        [httpx.Response(200, json={"data": [transfer_json()], "has_more": False, "next_cursor": "ignored"})]
    )
    client = make_client(recorder)
    assert len(list(client.transfers.list())) == 1
    assert len(recorder.requests) == 1


def test_stops_when_the_server_repeats_the_cursor() -> None:
    recorder = Recorder([httpx.Response(200, json=page_json([transfer_json()], "same"))])
    client = make_client(recorder)
    assert len(list(client.transfers.list())) == 2  # first page, then "same" once; no endless loop
    assert len(recorder.requests) == 2


def test_list_envelope_without_data_is_refused() -> None:
    from neraca import APIResponseValidationError

    recorder = Recorder([httpx.Response(200, json={"items": []})])
    client = make_client(recorder)
    with pytest.raises(APIResponseValidationError):
        list(client.transfers.list())


def test_statement_entries_page_through_the_statement() -> None:
    recorder = by_cursor(
        {
            None: httpx.Response(200, json=statement_page_json([entry_json(1), entry_json(2)], "s1")),
            "s1": httpx.Response(200, json=statement_page_json([entry_json(3)], None)),
        }
    )
    client = make_client(recorder)
    entries = list(
        client.statements.entries(
            account_id="acc_div1", start=date(2026, 11, 1), end=date(2026, 11, 30), include_descendants=True
        )
    )
    assert [e.running_balance for e in entries] == [1000, 2000, 3000]
    assert all(isinstance(e, StatementEntry) for e in entries)
    params = query(recorder.requests[0])
    assert recorder.requests[0].url.path == "/api/v1/accounts/acc_div1/statement"
    assert params == {
        "start": ["2026-11-01"],
        "end": ["2026-11-30"],
        "include_descendants": ["true"],
        "format": ["json"],
    }


def test_statement_retrieve_returns_the_period_totals() -> None:
    recorder = Recorder([httpx.Response(200, json=statement_page_json([entry_json(1)], "s1"))])
    client = make_client(recorder)
    page = client.statements.retrieve(account_id="acc_div1", start="2026-11-01", end="2026-11-30", after="s0")
    assert page.closing_balance == 3000 and page.total_credits == 3000
    assert page.period.start == date(2026, 11, 1) and page.period.end == date(2026, 11, 30)
    assert page.next_cursor == "s1" and page.data[0].transaction_id == "trf_1"
    assert query(recorder.requests[0])["after"] == ["s0"]
    assert query(recorder.requests[0])["include_descendants"] == ["false"]
