"""COPY's LF row ends become CRLF; LFs inside quoted cells stay, however the stream is chunked."""

from __future__ import annotations

import csv
import io
import itertools

from hypothesis import given
from hypothesis import strategies as st

from portal.domains.reports.services import CrlfRows

cell = st.one_of(st.sampled_from(["", "a", '"', "a,b", "x\ny", "\r", '""\n"']), st.text(max_size=6))


def copy_cell(text: str) -> str:
    """A cell as PostgreSQL's COPY (FORMAT csv) writes it (quoted when it holds , " CR or LF)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@given(
    rows=st.lists(st.lists(cell.filter(lambda s: "\x00" not in s), min_size=2, max_size=4), max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_row_ends_become_crlf_whatever_the_chunks(rows: list[list[str]], cuts: list[int]) -> None:
    crlf = io.StringIO()
    csv.writer(crlf, lineterminator="\r\n").writerows(rows)
    data = "".join(",".join(copy_cell(c) for c in row) + "\n" for row in rows).encode()
    bounds = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    conv = CrlfRows()
    out = b"".join(conv.convert(data[a:b]) for a, b in itertools.pairwise(bounds))
    assert out == crlf.getvalue().encode()
