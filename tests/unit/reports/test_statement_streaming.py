"""The writers stream: memory stays flat and the first bytes come before the lines are all read."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable, Iterable, Iterator

import pytest

from portal.domains.reports.formats import (
    iter_statement_camt053,
    iter_statement_csv,
    iter_statement_mt940,
    write_statement_xlsx,
)
from portal.domains.reports.formats.model import StatementHeader, StatementLine
from tests.support.statements import generate_statement

MB = 1024 * 1024
Writer = Callable[[StatementHeader, Iterable[StatementLine]], Iterator[bytes]]


class Counting:
    """Wraps a line iterator and counts how many lines the writer has pulled."""

    def __init__(self, lines: Iterator[StatementLine]) -> None:
        self.lines = lines
        self.pulled = 0

    def __iter__(self) -> Iterator[StatementLine]:
        for line in self.lines:
            self.pulled += 1
            yield line


def test_csv_of_200k_lines_stays_under_20_mb() -> None:
    st = generate_statement(200_000)
    size = 0
    tracemalloc.start()
    try:
        for chunk in iter_statement_csv(st.header, st.make_lines()):
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding 200,000 lines (or the ~30 MB file) in memory would need well over 20 MB.
    assert size > 30 * MB
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


def test_xlsx_of_20k_lines_stays_under_8_mb() -> None:
    st = generate_statement(20_000)
    out = io.BytesIO()
    tracemalloc.start()
    try:
        write_statement_xlsx(st.header, st.make_lines(), out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 20,000 lines held in a list take ~13 MB; constant_memory sends finished rows to a temp file (the
    # compressed workbook, ~1 MB, ends up in `out`).
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.parametrize("writer", [iter_statement_csv, iter_statement_mt940, iter_statement_camt053])
def test_first_chunk_before_the_lines_are_read(writer: Writer) -> None:
    st = generate_statement(5_000)
    counting = Counting(st.make_lines())
    stream = writer(st.header, counting)
    next(stream)
    next(stream)
    assert 0 < counting.pulled < 2_000
    rest = sum(len(c) for c in stream)
    assert rest > 0 and counting.pulled == 5_000
