"""Statement downloads stream to a file that appears whole or not at all."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import Recorder, expected_signature, make_client, problem

from neraca import APIConnectionError, NotFoundError

CSV = "booked_at,debit,credit\n" + "".join(f"2026-11-{d:02d},0,{d * 1000}\n" for d in range(1, 31))


def test_download_streams_the_file_and_returns_the_path(tmp_path: Path) -> None:
    recorder = Recorder([httpx.Response(200, content=CSV.encode(), headers={"Content-Type": "text/csv"})])
    client = make_client(recorder)
    target = tmp_path / "nov.csv"
    result = client.statements.download(
        account_id="acc_div1", start=date(2026, 11, 1), end=date(2026, 11, 30), format="csv", path=str(target)
    )
    assert result == target
    assert target.read_text() == CSV
    assert [p.name for p in tmp_path.iterdir()] == ["nov.csv"]  # no temporary file left behind
    (request,) = recorder.requests
    assert request.url.path == "/api/v1/accounts/acc_div1/statement"
    assert parse_qs(request.url.query.decode()) == {
        "start": ["2026-11-01"],
        "end": ["2026-11-30"],
        "include_descendants": ["false"],
        "format": ["csv"],
    }
    assert request.headers["Signature"] == expected_signature(request)


def test_download_error_raises_and_writes_nothing(tmp_path: Path) -> None:
    recorder = Recorder([problem(404, "not_found", "No account acc_x")])
    client = make_client(recorder)
    with pytest.raises(NotFoundError) as info:
        client.statements.download(
            account_id="acc_x", start="2026-11-01", end="2026-11-30", format="pdf", path=tmp_path / "x.pdf"
        )
    assert info.value.detail == "No account acc_x"
    assert list(tmp_path.iterdir()) == []


class BrokenStream(httpx.SyncByteStream):
    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b"partial,"
        raise httpx.ReadError("connection reset")


def test_interrupted_download_leaves_no_partial_file(tmp_path: Path) -> None:
    recorder = Recorder([lambda request: httpx.Response(200, stream=BrokenStream())])
    client = make_client(recorder)
    target = tmp_path / "nov.csv"
    target.write_text("previous statement")
    with pytest.raises(APIConnectionError, match="interrupted"):
        client.statements.download(
            account_id="acc_1", start="2026-11-01", end="2026-11-30", format="csv", path=target
        )
    assert target.read_text() == "previous statement"
    assert [p.name for p in tmp_path.iterdir()] == ["nov.csv"]


def test_unknown_format_is_refused_before_sending(tmp_path: Path) -> None:
    recorder = Recorder([httpx.Response(200, content=b"")])
    client = make_client(recorder)
    with pytest.raises(ValueError, match="format"):
        client.statements.download(
            account_id="acc_1",
            start="2026-11-01",
            end="2026-11-30",
            format="docx",
            path=tmp_path / "x",  # type: ignore[arg-type]
        )
    assert recorder.requests == []
