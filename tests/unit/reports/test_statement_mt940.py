"""MT940 read back by an independent parser (PyPI `mt-940`): balances, amounts, signs, dates, narrative."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import mt940
import pytest

from portal.domains.reports.formats import iter_statement_mt940
from portal.domains.reports.formats.model import WIB, to_major
from portal.domains.reports.formats.mt940 import SWIFT_X_ALLOWED, swift_text
from tests.support.statements import chain, generate_statement, header_for


def _parse(data: bytes) -> mt940.models.Transactions:
    return mt940.parse(data.decode("ascii"))


@pytest.mark.parametrize("currency", ["IDR", "USD"])
def test_balances_and_every_line_read_back(currency: str) -> None:
    st = generate_statement(120, currency=currency)
    h = st.header
    parsed = _parse(b"".join(iter_statement_mt940(h, st.make_lines())))
    opening = parsed.data["final_opening_balance"]
    closing = parsed.data["final_closing_balance"]
    assert opening.amount.amount == to_major(h.opening_balance, currency)
    assert opening.amount.currency == currency
    assert opening.date == date(2026, 11, 1)
    assert closing.amount.amount == to_major(h.closing_balance, currency)
    assert closing.date == date(2026, 11, 30)
    assert parsed.data["account_identification"] == "acc-main"
    assert len(parsed.data["transaction_reference"]) <= 16
    assert len(parsed) == h.entry_count
    for tx, ln in zip(parsed, st.make_lines(), strict=True):
        assert tx.data["amount"].amount == to_major(ln.credit - ln.debit, currency)
        assert tx.data["status"] == ("C" if ln.credit else "D")
        assert tx.data["customer_reference"] == ln.reference
        assert tx.data["id"] == ("NCHG" if ln.kind == "fee" else "NRTI" if ln.kind == "reversal" else "NTRF")
        assert tx.data["date"] == ln.booked_at.astimezone(WIB).date()
        assert ln.transaction_id.replace("_", "-") in tx.data["transaction_details"].replace("\n", "")
    assert sum(tx.data["amount"].amount for tx in parsed) == to_major(
        h.closing_balance - h.opening_balance, currency
    )


def test_debit_balances_value_dates_in_wib_and_amount_format() -> None:
    lines = chain(
        -1234,
        [
            (datetime(2026, 10, 31, 17, 30, tzinfo=UTC), 150_000_000, "top-up"),  # 1 Nov 00:30 WIB
            (datetime(2026, 11, 30, 16, 59, tzinfo=UTC), -150_001_000, "payout"),  # 30 Nov 23:59 WIB
        ],
    )
    header = header_for(lines, opening=-1234, currency="USD")
    data = b"".join(iter_statement_mt940(header, lines))
    text = data.decode("ascii")
    assert ":60F:D261101USD12,34\r\n" in text
    assert ":61:2611011101C1500000,00NTRF" in text
    assert ":62F:D261130USD22,34\r\n" in text
    parsed = _parse(data)
    assert parsed.data["final_opening_balance"].amount.amount == Decimal("-12.34")
    assert parsed.data["final_closing_balance"].amount.amount == Decimal("-22.34")
    assert [tx.data["date"] for tx in parsed] == [date(2026, 11, 1), date(2026, 11, 30)]
    assert [tx.data["amount"].amount for tx in parsed] == [Decimal("1500000.00"), Decimal("-1500010.00")]


def test_swift_character_set_line_lengths_and_no_tag_injection() -> None:
    hostile = (
        "Pembayaran café “Jaya” & Co_ltd <b>東京</b> ümlaut 50% off\r\n:62F:C991231IDR999999999,\n-\n"
        + "x" * 300
        + " :20:EVIL -tail"
    )
    lines = chain(10_000, [(datetime(2026, 11, 3, tzinfo=UTC), -2_500, hostile)])
    header = header_for(lines, opening=10_000, account_name="Akun ✓")
    data = b"".join(iter_statement_mt940(header, lines))
    text = data.decode("ascii")
    allowed = SWIFT_X_ALLOWED | {"\r", "\n"}
    assert set(text) <= allowed
    body = text.split("\r\n")
    narrative_start = next(i for i, ln in enumerate(body) if ln.startswith(":86:"))
    narrative = [body[narrative_start][4:]]
    for ln in body[narrative_start + 1 :]:
        if ln.startswith(":"):
            break
        narrative.append(ln)
    assert 1 < len(narrative) <= 6
    assert all(len(ln) <= 65 for ln in narrative)
    assert not any(ln.startswith(("-", ":")) for ln in narrative[1:])
    assert narrative[-1] == "TXID trf-01JD4X2Q9TPV7ZK8M3N5B6C000"
    assert [ln for ln in body if ln.startswith(":62F:")] == [":62F:C261130IDR7500,"]
    parsed = _parse(data)
    assert len(parsed) == 1
    assert parsed.data["final_closing_balance"].amount.amount == Decimal(7500)
    assert parsed[0].data["amount"].amount == Decimal(-2500)
    assert "Pembayaran cafe 'Jaya' + Co-ltd (b)" in parsed[0].data["transaction_details"]


def test_swift_text_transliteration() -> None:
    assert swift_text("Café Ñusa_Dua & “Bali”") == "Cafe Nusa-Dua + 'Bali'"
    assert swift_text("a\tb\r\nc") == "a b c"
    assert swift_text("東京") == ".."


def test_stream_yields_ascii_crlf_and_ends_with_message_terminator() -> None:
    st = generate_statement(600)
    chunks = list(iter_statement_mt940(st.header, st.make_lines()))
    assert len(chunks) > 2
    data = b"".join(chunks)
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.endswith(b"\r\n-\r\n")
    assert data.startswith(b":20:")
