"""SWIFT MT940 customer statement, one message for the whole period, streamed.

```
:20:NRC3F9A0C41B2D7E   transaction reference (16x): the statement id, or a hash of it when longer
:25:acc-01JD...        account identification (35x): the account number
:28C:1/1               statement number / sequence number
:60F:C261101IDR1500000,
:61:2611051105D50000,NTRFINV-2026-11-001//01JD4X2Q9TPV7ZK8
TRANSFER
:86:Payment for invoice 001
REF INV-2026-11-001
CPTY Warung Sejahtera acc-01JD...
TXID trf-01JD...
:62F:C261130IDR1450000,
-
```

Text is reduced to the SWIFT X character set (letters, digits, space and ``/-?:().,'+``): accents are
stripped, `_` becomes `-`, other characters become `.`. `:86:` has at most 6 lines of 65 characters; the
transaction id, reference and counterpart always fit, the description gets what is left. Value and entry
dates are the WIB booking date. Lines end with CRLF.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date

from .model import BytesSink, StatementHeader, StatementLine, checked, format_swift, short_id, to_wib

SWIFT_X_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
_REPLACEMENTS = {
    "_": "-",
    "&": "+",
    '"': "'",
    "`": "'",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": "'",
    "\u201d": "'",
    "\u2013": "-",
    "\u2014": "-",
    ";": ",",
    "<": "(",
    ">": ")",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "\\": "/",
    "|": "/",
    "~": "-",
    "=": "-",
    "#": "-",
}
NARRATIVE_WIDTH = 65
NARRATIVE_LINES = 6
LINES_PER_CHUNK = 256
CRLF = "\r\n"

# SWIFT transaction type identification codes (`N` + 3 letters) by statement line kind.
TRANSACTION_TYPE_CODES: dict[str, str] = {
    "transfer": "TRF",
    "topup": "TRF",
    "withdrawal": "TRF",
    "hold_post": "TRF",
    "split": "TRF",
    "settlement": "TRF",
    "payment": "TRF",
    "fee": "CHG",
    "reversal": "RTI",
}


def swift_text(text: str | None) -> str:
    """`text` in the SWIFT X character set, on one line, spaces collapsed."""
    if not text:
        return ""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        if ch in SWIFT_X_ALLOWED:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            out.append(_REPLACEMENTS.get(ch, "."))
    return " ".join("".join(out).split())


def swift_reference(text: str | None, max_len: int = 16) -> str:
    """A 16x reference: X characters without spaces, no `//`, not starting or ending with `/`."""
    ref = swift_text(text).replace(" ", "")
    while "//" in ref:
        ref = ref.replace("//", "/")
    ref = ref.strip("/")[:max_len].strip("/")
    return ref or "NONREF"


def _wrap(text: str) -> list[str]:
    """Wrap X text into narrative lines of at most 65 characters, none starting with `:` or `-`."""
    lines = textwrap.wrap(text, NARRATIVE_WIDTH - 1, break_long_words=True, break_on_hyphens=False)
    return [" " + ln if ln.startswith((":", "-")) else ln for ln in lines]


def narrative(line: StatementLine, include_account: bool) -> list[str]:
    """The `:86:` lines of a statement line: description, reference, counterpart, account, transaction id."""
    fixed: list[str] = []
    if line.reference:
        fixed += _wrap("REF " + swift_text(line.reference))
    counterpart = " ".join(
        p for p in (swift_text(line.counterpart_name), swift_text(line.counterpart_account_id)) if p
    )
    if counterpart:
        fixed += _wrap("CPTY " + counterpart)
    if include_account:
        fixed += _wrap(
            "ACCT " + " ".join(p for p in (swift_text(line.account_name), swift_text(line.account_id)) if p)
        )
    fixed += _wrap("TXID " + swift_text(line.transaction_id))
    room = NARRATIVE_LINES - len(fixed)
    if room < 0:  # absurdly long ids: keep the transaction id, which is last
        fixed = fixed[-NARRATIVE_LINES:]
        room = 0
    description = _wrap(swift_text(line.description))[:room]
    return description + fixed


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def _balance(tag: str, amount: int, day: date, currency: str) -> str:
    mark = "C" if amount >= 0 else "D"
    return f":{tag}:{mark}{_yymmdd(day)}{currency}{format_swift(abs(amount), currency)}"


def statement_line_fields(line: StatementLine, currency: str, include_account: bool) -> list[str]:
    """The `:61:` (with its supplementary line) and `:86:` lines of one statement line."""
    day = to_wib(line.booked_at).date()
    mark = "C" if line.is_credit else "D"
    amount = format_swift(line.credit or line.debit, currency)
    if len(amount) > 15:
        raise ValueError(f"{line.transaction_id}: amount too large for MT940 (15d)")
    code = TRANSACTION_TYPE_CODES.get(line.kind, "MSC")
    bank_ref = swift_reference(line.transaction_id[-16:])
    field61 = (
        f":61:{_yymmdd(day)}{day.strftime('%m%d')}{mark}{amount}N{code}"
        f"{swift_reference(line.reference)}//{bank_ref}"
    )
    supplementary = swift_text(line.kind).upper()[:34]
    lines = [field61]
    if supplementary:
        lines.append(supplementary if not supplementary.startswith((":", "-")) else "." + supplementary[1:])
    narr = narrative(line, include_account)
    lines.append(":86:" + narr[0])
    lines.extend(narr[1:])
    return lines


def iter_statement_mt940(header: StatementHeader, lines: Iterable[StatementLine]) -> Iterator[bytes]:
    """Stream the statement as one MT940 message (ASCII, CRLF line ends), a few hundred entries per chunk.

    `StatementMismatch` is raised if the lines do not add up to the header.
    """
    cur = header.currency
    head = [
        ":20:" + swift_reference(short_id(header.statement_id, 16)),
        ":25:" + (swift_text(header.account_number).replace(" ", "")[:35] or "NONREF"),
        ":28C:1/1",
        _balance("60F", header.opening_balance, header.period_start, cur),
    ]
    yield (CRLF.join(head) + CRLF).encode("ascii")
    pending: list[str] = []
    for count, line in enumerate(checked(header, lines), start=1):
        pending.extend(statement_line_fields(line, cur, header.include_descendants))
        if count % LINES_PER_CHUNK == 0:
            yield (CRLF.join(pending) + CRLF).encode("ascii")
            pending.clear()
    pending.append(_balance("62F", header.closing_balance, header.period_end, cur))
    pending.append("-")
    yield (CRLF.join(pending) + CRLF).encode("ascii")


def write_statement_mt940(header: StatementHeader, lines: Iterable[StatementLine], out: BytesSink) -> None:
    """Write the MT940 statement to a binary file object (see `iter_statement_mt940`)."""
    for chunk in iter_statement_mt940(header, lines):
        out.write(chunk)
