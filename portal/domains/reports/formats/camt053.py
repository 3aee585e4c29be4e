"""ISO 20022 camt.053.001.02 (BankToCustomerStatement), streamed as XML text.

One `Stmt` for the period: opening (`OPBD`) and closing (`CLBD`) booked balances, a `TxsSummry` from the
header totals, and one booked `Ntry` per line with its bank transaction code, the transaction id as
`AcctSvcrRef`, the reference as `EndToEndId`, the counterpart under `RltdPties` and the description as
unstructured remittance information. Entries are written as they come; no DOM of the statement is built.
Text is escaped with `xml.sax.saxutils` and cut to the schema's maximum lengths; characters XML 1.0 cannot
hold are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from .model import (
    BytesSink,
    StatementHeader,
    StatementLine,
    checked,
    format_plain,
    short_id,
    to_wib,
)

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
ENTRIES_PER_CHUNK = 256
BANK_TX_CODE_ISSUER = "NERACA"

# ISO 20022 bank transaction codes (domain, family by direction, sub-family) by statement line kind.
_BOOK = ("PMNT", "RCDT", "ICDT", "BOOK")
BANK_TRANSACTION_CODES: dict[str, tuple[str, str, str, str]] = {
    "transfer": _BOOK,
    "hold_post": _BOOK,
    "split": _BOOK,
    "settlement": _BOOK,
    "reversal": _BOOK,
    "topup": ("PMNT", "RCDT", "ICDT", "DMCT"),
    "withdrawal": ("PMNT", "RCDT", "ICDT", "DMCT"),
    "fee": ("ACMT", "MCOP", "MDOP", "CHRG"),
}
_DEFAULT_CODE = ("PMNT", "RCDT", "ICDT", "OTHR")
# Characters outside XML 1.0's Char production (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None, max_len: int) -> str:
    """`text` escaped for XML element content, cut to `max_len` characters (schema MaxNText)."""
    clean = " ".join(_NOT_XML_CHAR.sub("", text or "").split())[:max_len]
    return escape(clean)


def _dt(value: datetime) -> str:
    """ISO 8601 date-time in WIB with its offset, to the second."""
    return to_wib(value).replace(microsecond=0).isoformat()


def _amt(amount: int, currency: str) -> str:
    return f"<Amt Ccy={quoteattr(currency)}>{format_plain(abs(amount), currency)}</Amt>"


def _ind(amount: int) -> str:
    return "CRDT" if amount >= 0 else "DBIT"


def _balance(code: str, amount: int, day: str, currency: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>{_amt(amount, currency)}"
        f"<CdtDbtInd>{_ind(amount)}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def statement_head(header: StatementHeader) -> str:
    """Everything before the first `Ntry`: the document, group header, statement, account, balances."""
    cur = header.currency
    created = _dt(header.generated_at)
    msg_id = xml_text(short_id(header.statement_id, 35), 35)
    net = header.total_credits - header.total_debits
    owner = xml_text(header.business_name, 140)
    name = xml_text(header.account_name, 70)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<Document xmlns={quoteattr(NAMESPACE)}>\n",
        "<BkToCstmrStmt>\n",
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n",
        "<Stmt>\n",
        f"<Id>{msg_id}</Id><CreDtTm>{created}</CreDtTm>\n",
        f"<FrToDt><FrDtTm>{_dt(header.period_start_wib)}</FrDtTm>"
        f"<ToDtTm>{_dt(header.period_end_wib)}</ToDtTm></FrToDt>\n",
        f"<Acct><Id><Othr><Id>{xml_text(header.account_number, 34)}</Id></Othr></Id><Ccy>{cur}</Ccy>",
        f"<Nm>{name}</Nm>" if name else "",
        f"<Ownr><Nm>{owner}</Nm></Ownr>" if owner else "",
        "</Acct>\n",
        _balance("OPBD", header.opening_balance, header.period_start.isoformat(), cur) + "\n",
        _balance("CLBD", header.closing_balance, header.period_end.isoformat(), cur) + "\n",
        "<TxsSummry><TtlNtries>"
        f"<NbOfNtries>{header.entry_count}</NbOfNtries>"
        f"<Sum>{format_plain(header.total_debits + header.total_credits, cur)}</Sum>"
        f"<TtlNetNtryAmt>{format_plain(abs(net), cur)}</TtlNetNtryAmt>"
        f"<CdtDbtInd>{_ind(net)}</CdtDbtInd>"
        "</TtlNtries></TxsSummry>\n",
    ]
    return "".join(parts)


def entry_xml(line: StatementLine, currency: str) -> str:
    """One `Ntry` element for a statement line."""
    day = to_wib(line.booked_at).date().isoformat()
    domain, credit_family, debit_family, sub_family = BANK_TRANSACTION_CODES.get(line.kind, _DEFAULT_CODE)
    family = credit_family if line.is_credit else debit_family
    tx_id = xml_text(line.transaction_id, 35)
    end_to_end = xml_text(line.reference, 35) or "NOTPROVIDED"
    counterpart = xml_text(line.counterpart_name or line.counterpart_account_id, 140)
    # The counterpart pays us on a credit and is paid by us on a debit.
    party = ("Dbtr" if line.is_credit else "Cdtr") if counterpart else ""
    party_acct = xml_text(line.counterpart_account_id, 34)
    related = ""
    if party:
        related = f"<RltdPties><{party}><Nm>{counterpart}</Nm></{party}>"
        if party_acct:
            related += f"<{party}Acct><Id><Othr><Id>{party_acct}</Id></Othr></Id></{party}Acct>"
        related += "</RltdPties>"
    description = xml_text(line.description, 140)
    remittance = f"<RmtInf><Ustrd>{description}</Ustrd></RmtInf>" if description else ""
    extra = xml_text(f"{line.kind} {line.account_name} {line.account_id}", 500)
    kind = xml_text(line.kind, 35) or "OTHR"
    return (
        "<Ntry>"
        f"{_amt(line.credit or line.debit, currency)}"
        f"<CdtDbtInd>{'CRDT' if line.is_credit else 'DBIT'}</CdtDbtInd>"
        f"{'<RvslInd>true</RvslInd>' if line.kind == 'reversal' else ''}"
        "<Sts>BOOK</Sts>"
        f"<BookgDt><DtTm>{_dt(line.booked_at)}</DtTm></BookgDt>"
        f"<ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{tx_id}</AcctSvcrRef>"
        "<BkTxCd>"
        f"<Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn>"
        f"<Prtry><Cd>{kind}</Cd><Issr>{BANK_TX_CODE_ISSUER}</Issr></Prtry>"
        "</BkTxCd>"
        "<NtryDtls><TxDtls>"
        f"<Refs><AcctSvcrRef>{tx_id}</AcctSvcrRef><EndToEndId>{end_to_end}</EndToEndId></Refs>"
        f"{related}{remittance}"
        "</TxDtls></NtryDtls>"
        f"{f'<AddtlNtryInf>{extra}</AddtlNtryInf>' if extra else ''}"
        "</Ntry>\n"
    )


def iter_statement_camt053(header: StatementHeader, lines: Iterable[StatementLine]) -> Iterator[bytes]:
    """Stream the statement as a camt.053.001.02 XML document (UTF-8), a few hundred entries per chunk.

    `StatementMismatch` is raised if the lines do not add up to the header.
    """
    yield statement_head(header).encode("utf-8")
    pending: list[str] = []
    for line in checked(header, lines):
        pending.append(entry_xml(line, header.currency))
        if len(pending) >= ENTRIES_PER_CHUNK:
            yield "".join(pending).encode("utf-8")
            pending.clear()
    pending.append("</Stmt>\n</BkToCstmrStmt>\n</Document>\n")
    yield "".join(pending).encode("utf-8")


def write_statement_camt053(header: StatementHeader, lines: Iterable[StatementLine], out: BytesSink) -> None:
    """Write the camt.053 statement to a binary file object (see `iter_statement_camt053`)."""
    for chunk in iter_statement_camt053(header, lines):
        out.write(chunk)
