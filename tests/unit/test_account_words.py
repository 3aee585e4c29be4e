"""Indonesian words for accounts: "Akun" is a Neraca account (a balance account), "Rekening" a bank
account (and "rekening koran", the statement). A translation about a Neraca account never says
"rekening"."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "portal/locale/id/LC_MESSAGES/messages.po"
# Messages about a bank or e-wallet account (a beneficiary, a settlement bank account, a payout's target).
ABOUT_A_BANK_ACCOUNT = re.compile(
    r"bank|holder|beneficiar|e-wallet|virtual account|payout|in the book|Make it the default|"
    r"^account (closed|not found)$|^Account number$",
    re.IGNORECASE,
)
REKENING = re.compile(r"rekening(?! koran)", re.IGNORECASE)


def test_a_neraca_account_is_akun_and_a_bank_account_rekening() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f)
    wrong = []
    for message in catalog:
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        if not msgid or "account" not in msgid.lower() or ABOUT_A_BANK_ACCOUNT.search(msgid):
            continue
        if any(REKENING.search(t or "") for t in texts):
            wrong.append(msgid)
    assert wrong == []
