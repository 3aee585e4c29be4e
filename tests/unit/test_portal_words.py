"""Words people read: activity types by name, the one sign convention, the 403 naming its right."""

from __future__ import annotations

from portal.domains.audit.labels import activity_name
from portal.lib import i18n
from portal.lib.money import format_signed
from portal.server.guards import missing_right


def test_activity_types_read_as_words() -> None:
    assert activity_name("user.login") == "Signed in"
    assert activity_name("withdrawal.failed") == "Withdrawal failed"
    assert activity_name("payout_rail.updated") == "Payout rail: updated"  # unknown: no dots, no underscores


def test_signed_amounts_one_convention() -> None:
    assert format_signed(23_132_000, "IDR", "en") == "+IDR 23,132,000"
    assert format_signed(-100_050, "IDR", "en") == "\u2212IDR 100,050"
    assert format_signed(-150, "USD", "en") == "\u2212USD 1.50"


def test_the_403_names_the_right_and_who_grants_it() -> None:
    error = missing_right("transfers", "manage")
    assert error.status == 403 and error.extra == {"missing_right": "transfers:manage"}
    assert "manage Transfers" in error.detail and "owner or admin" in error.detail
    token = i18n.current_language.set("id")
    try:
        assert "Transfer" in error.detail and "Pemilik atau admin" in error.detail
    finally:
        i18n.current_language.reset(token)
