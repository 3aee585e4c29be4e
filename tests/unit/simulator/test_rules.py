"""The simulator's pure rules: business days, rail timing, card checks, QRIS checksum, fees."""

from __future__ import annotations

from datetime import date, datetime, time

from portal.simulator import reference as ref
from portal.simulator.services import clock, payouts


def wib(day: str, at: str) -> datetime:
    return clock.wib(date.fromisoformat(day), time.fromisoformat(at))


def test_business_days_skip_weekends_public_holidays_and_cuti_bersama() -> None:
    assert clock.is_business_day(date(2026, 12, 23))
    assert not clock.is_business_day(date(2026, 12, 24))  # Christmas joint holiday (GOVERNMENT category)
    assert not clock.is_business_day(date(2026, 12, 25))
    assert clock.next_business_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert clock.add_business_days(date(2026, 12, 23), 2) == date(2026, 12, 29)
    # Paid on a Saturday inside the Eid al-Fitr holidays: counts for the Wednesday after.
    assert clock.business_date(wib("2026-03-21", "10:00")) == date(2026, 3, 25)
    # 23:30 WIB is already the next day in WIB although still the same day in UTC.
    assert clock.business_date(wib("2026-12-22", "23:30")) == date(2026, 12, 22)
    assert clock.business_date(wib("2026-12-23", "00:30")) == date(2026, 12, 23)


def test_skn_completes_at_the_next_clearing_window_on_a_business_day() -> None:
    assert payouts.expected_at("skn", "normal", wib("2026-12-23", "10:15")) == wib("2026-12-23", "11:00")
    assert payouts.expected_at("skn", "normal", wib("2026-12-23", "15:30")) == wib("2026-12-28", "09:00")
    assert payouts.expected_at("skn", "normal", wib("2026-12-26", "12:00")) == wib("2026-12-28", "09:00")


def test_rtgs_settles_within_business_hours_else_the_next_business_morning() -> None:
    assert payouts.expected_at("rtgs", "normal", wib("2026-12-23", "10:00")) == wib("2026-12-23", "10:05")
    assert payouts.expected_at("rtgs", "normal", wib("2026-12-23", "07:00")) == wib("2026-12-23", "08:05")
    assert payouts.expected_at("rtgs", "normal", wib("2026-12-23", "14:00")) == wib("2026-12-28", "08:05")
    assert payouts.expected_at("rtgs", "slow", wib("2026-12-23", "10:00")) == wib("2026-12-23", "10:35")


def test_instant_rails_run_every_day_in_seconds() -> None:
    christmas = wib("2026-12-25", "03:00")
    assert (payouts.expected_at("bifast", "normal", christmas) - christmas).total_seconds() == 2
    assert (payouts.expected_at("online", "slow", christmas) - christmas).total_seconds() == 63


def test_luhn_brand_and_issuer() -> None:
    assert ref.luhn_ok("4111111111111111") and ref.luhn_ok("5555555555554444")
    assert not ref.luhn_ok("4111111111111112")
    assert ref.card_brand("5555555555554444") == "mastercard"
    assert ref.card_brand("2221000000000009") == "mastercard"
    assert ref.card_brand("378282246310005") == "amex"
    assert ref.BINS["455633"] == "BCA"


def test_qris_crc_is_crc16_ccitt_false() -> None:
    assert ref.crc16_ccitt(b"123456789") == 0x29B1  # the published check value
    payload = ref.qris_payload(
        nmid="ID1234567890123", merchant_name="TOKO", city="JAKARTA", amount=10_000, reference="r1"
    )
    assert payload.endswith(f"{ref.crc16_ccitt(payload[:-4].encode()):04X}")


def test_fees_are_whole_rupiah_rounded_half_up() -> None:
    assert ref.payin_fee("virtual_account", 150_000) == 4_000
    assert ref.payin_fee("qris", 100_000) == 700
    assert ref.payin_fee("qris", 50) == 0  # 0.35 rounds down
    assert ref.payin_fee("qris", 1_500) == 11  # 10.5 rounds up
    assert ref.payin_fee("card", 250_000) == 7_250 + 2_000
    assert ref.payin_fee("ewallet", 100_000) == 1_500
