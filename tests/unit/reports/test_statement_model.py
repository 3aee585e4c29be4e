"""Statement model: amounts at the edge, consistency checks, deterministic output of every format."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime

import pytest

from portal.domains.reports.formats import (
    EXPORT_FORMATS,
    StatementMismatch,
    iter_statement_camt053,
    iter_statement_csv,
    iter_statement_mt940,
    statement_filename,
    write_statement_xlsx,
)
from portal.domains.reports.formats.model import (
    StatementHeader,
    StatementLine,
    checked,
    format_plain,
    format_swift,
    short_id,
    wib_text,
)
from tests.support.statements import chain, generate_statement, header_for, line

Writer = Callable[[StatementHeader, Iterable[StatementLine]], Iterator[bytes]]
STREAMS: list[Writer] = [iter_statement_csv, iter_statement_mt940, iter_statement_camt053]


def test_amount_formatting() -> None:
    assert format_plain(1_500_000, "IDR") == "1500000"
    assert format_plain(-1_500_000, "IDR") == "-1500000"
    assert format_plain(5, "USD") == "0.05"
    assert format_plain(-123_456_789_012_345, "SGD") == "-1234567890123.45"
    assert format_plain(0, "USD") == "0.00"
    assert format_swift(1_500_000, "IDR") == "1500000,"
    assert format_swift(1_250, "USD") == "12,50"
    with pytest.raises(ValueError):
        format_swift(-1, "IDR")
    with pytest.raises(ValueError):
        format_plain(1, "EUR")


def test_wib_and_ids() -> None:
    assert wib_text(datetime(2026, 11, 30, 17, 0, tzinfo=UTC)) == "2026-12-01 00:00:00"
    assert short_id("short", 16) == "short"
    long_id = "stmt_acc_01JD4X2Q9TPV7ZK8M3N5B6C7D8_2026-11-01_2026-11-30"
    assert len(short_id(long_id, 16)) == 16 and short_id(long_id, 16) == short_id(long_id, 16)
    assert short_id(long_id, 16) != short_id(long_id.replace("11-30", "11-29"), 16)


def test_header_defaults_and_own_consistency() -> None:
    header = header_for([], opening=10)
    assert header.account_number == "acc_main"
    assert header.statement_id == "stmt_acc_main_2026-11-01_2026-11-30"
    with pytest.raises(StatementMismatch):
        StatementHeader(
            business_name="b",
            account_id="a",
            account_name="n",
            account_number="",
            currency="IDR",
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            opening_balance=0,
            closing_balance=5,  # 0 + 0 - 0 is not 5
            total_debits=0,
            total_credits=0,
            entry_count=0,
            generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        )


def test_line_needs_exactly_one_side() -> None:
    with pytest.raises(ValueError):
        line(datetime(2026, 11, 1, tzinfo=UTC), debit=5, credit=5, running_balance=0)
    with pytest.raises(ValueError):
        line(datetime(2026, 11, 1, tzinfo=UTC), running_balance=0)
    with pytest.raises(ValueError):
        line(datetime(2026, 11, 1), credit=5, running_balance=5)


@pytest.mark.parametrize("writer", STREAMS)
def test_mismatches_are_refused(writer: Writer) -> None:
    when = datetime(2026, 11, 3, tzinfo=UTC)
    good = chain(100, [(when, 50, "a"), (when, -20, "b")])
    header = header_for(good, opening=100)
    wrong_running = [good[0], line(when, debit=20, running_balance=999)]
    with pytest.raises(StatementMismatch, match="running balance"):
        b"".join(writer(header, wrong_running))
    with pytest.raises(StatementMismatch, match="header says"):
        b"".join(writer(header, good[:1]))
    outside = chain(100, [(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), 50, "1 Dec WIB"), (when, -20, "b")])
    with pytest.raises(StatementMismatch, match="outside the period"):
        b"".join(writer(header, outside))


def test_same_input_gives_byte_identical_files() -> None:
    st = generate_statement(300, currency="USD", include_descendants=True)
    for writer in STREAMS:
        first = b"".join(writer(st.header, st.make_lines()))
        assert first == b"".join(writer(st.header, st.make_lines()))
    a, b = io.BytesIO(), io.BytesIO()
    write_statement_xlsx(st.header, st.make_lines(), a)
    write_statement_xlsx(st.header, st.make_lines(), b)
    assert a.getvalue() == b.getvalue()
    # …and a different generation time changes the file (the time is really in it).
    later = generate_statement(300, currency="USD", include_descendants=True)
    moved = dataclasses.replace(later.header, generated_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert b"".join(iter_statement_csv(moved, later.make_lines())) != b"".join(
        iter_statement_csv(st.header, st.make_lines())
    )


def test_export_formats_and_filename() -> None:
    assert set(EXPORT_FORMATS) == {"csv", "xlsx", "pdf", "mt940", "camt053"}
    header = header_for([])
    assert statement_filename(header, "camt053") == "statement_acc_main_2026-11-01_2026-11-30.xml"


def test_a_netted_roll_up_counts_an_internal_transfer_once_and_checks_it() -> None:
    at = datetime(2026, 11, 3, 2, tzinfo=UTC)
    gross = [
        line(at, credit=10_000, running_balance=10_000, account_id="acc_a"),
        line(at, debit=4_000, running_balance=6_000, account_id="acc_a", counterpart_account_id="acc_b"),
        line(at, credit=4_000, running_balance=10_000, account_id="acc_b", counterpart_account_id="acc_a"),
    ]
    header = header_for(gross, include_descendants=True)
    netted = header.netted(4_000, 1)
    assert (netted.total_debits, netted.total_credits, netted.entry_count) == (0, 10_000, 2)
    assert netted.closing_balance == header.closing_balance
    once = dataclasses.replace(gross[1], debit=0, internal=4_000, running_balance=10_000)
    assert list(checked(netted, [gross[0], once])) == [gross[0], once]
    with pytest.raises(StatementMismatch):  # an internal line on a statement listing both sides
        list(checked(header, [gross[0], once]))
    with pytest.raises(StatementMismatch):  # the internal total must be the header's
        list(checked(header.netted(3_000, 1), [gross[0], once]))
    with pytest.raises(ValueError):
        dataclasses.replace(once, debit=4_000)
    with pytest.raises(ValueError):
        header_for(gross).netted(4_000, 1)  # only a roll-up has internal transfers
