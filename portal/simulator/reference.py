"""Reference data a real Indonesian provider works with: banks, wallets, BINs, response codes, rails, fees."""

from __future__ import annotations

# BI bank codes; `va_prefix` is the bank's virtual-account company prefix for pay-ins.
BANKS: dict[str, dict[str, str]] = {
    "014": {"name": "BCA", "va_prefix": "39358"},
    "002": {"name": "BRI", "va_prefix": "12920"},
    "009": {"name": "BNI", "va_prefix": "988"},
    "008": {"name": "Mandiri", "va_prefix": "89508"},
    "013": {"name": "Permata", "va_prefix": "8625"},
    "022": {"name": "CIMB Niaga", "va_prefix": "5919"},
    # Payout destinations only (no virtual accounts through the sandbox).
    "011": {"name": "Danamon", "va_prefix": ""},
    "200": {"name": "BTN", "va_prefix": ""},
    "451": {"name": "BSI", "va_prefix": ""},
    "542": {"name": "Bank Jago", "va_prefix": ""},
}
VA_BANKS = {code for code, bank in BANKS.items() if bank["va_prefix"]}
WALLETS = ("OVO", "GOPAY", "DANA", "SHOPEEPAY", "LINKAJA")
CHANNELS = ("virtual_account", "qris", "card", "ewallet")
PAYOUT_RAILS = ("bifast", "online", "skn", "rtgs", "ewallet")
# What the control surface can drive slow/offline/timeout: payout rails, pay-in channels, name inquiry.
RAIL_NAMES = (*PAYOUT_RAILS, "virtual_account", "qris", "card", "inquiry")
RAIL_MODES = ("normal", "slow", "offline", "timeout")

# ISO 8583 acquirer response codes the sandbox answers card charges with.
RESPONSE_CODES: dict[str, str] = {
    "00": "Approved",
    "05": "Do not honour",
    "14": "Invalid card number",
    "51": "Insufficient funds",
    "54": "Expired card",
    "61": "Exceeds withdrawal amount limit",
    "91": "Issuer or switch inoperative",
}
CARD_LIMIT = 50_000_000  # above this a charge is declined 61
# Per-transaction ceilings of the schemes: QRIS (Bank Indonesia) and a verified e-wallet account.
PAYIN_MAX = {"qris": 10_000_000, "ewallet": 20_000_000}

# A small table of Indonesian issuer BINs, plus the two universal test BINs.
BINS: dict[str, str] = {
    "455633": "BCA",
    "524261": "BCA",
    "437527": "Bank Mandiri",
    "521148": "Bank Mandiri",
    "410505": "BNI",
    "523983": "BNI",
    "461700": "BRI",
    "552338": "BRI",
    "489764": "CIMB Niaga",
    "540912": "CIMB Niaga",
    "411111": "Sandbox Test Bank",
    "555555": "Sandbox Test Bank",
}

# Channel settlement: business days after the pay-in's business day (T+N), and the fee (MDR).
SETTLEMENT_DAYS = {"virtual_account": 1, "qris": 1, "card": 2, "ewallet": 1}
REFUND_FEES = {"virtual_account": 2_500, "qris": 1_000, "card": 0, "ewallet": 1_000}
# A card charge can be voided until this time (WIB) of the business day it counts for; later it is refunded.
VOID_CUTOFF_HOUR = 23


def payin_fee(channel: str, amount: int) -> int:
    """The provider's fee on one pay-in, whole rupiah, rounded half up."""
    if channel == "virtual_account":
        return 4_000
    if channel == "qris":
        return (amount * 7 + 500) // 1_000  # MDR 0.7 %
    if channel == "card":
        return (amount * 29 + 500) // 1_000 + 2_000  # 2.9 % + Rp2.000
    return (amount * 15 + 500) // 1_000  # e-wallets 1.5 %


# Payout rails: amount bounds (inclusive) and fee.
RAILS: dict[str, dict[str, int]] = {
    "bifast": {"min": 1, "max": 250_000_000, "fee": 2_500},
    "online": {"min": 1, "max": 50_000_000, "fee": 6_500},
    "skn": {"min": 1, "max": 1_000_000_000, "fee": 2_900},
    "rtgs": {"min": 100_000_001, "max": 1_000_000_000_000, "fee": 30_000},
    "ewallet": {"min": 10_000, "max": 20_000_000, "fee": 1_000},
}


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number[:2] == "35":
        return "jcb"
    return "unknown"


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the checksum EMVCo QR payloads end with."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def qris_payload(*, nmid: str, merchant_name: str, city: str, amount: int, reference: str) -> str:
    """A dynamic QRIS (EMVCo merchant-presented) payload with its CRC."""
    merchant_info = _tlv("00", "ID.CO.QRIS.WWW") + _tlv("02", nmid) + _tlv("03", "UMI")
    body = (
        _tlv("00", "01")
        + _tlv("01", "12")  # dynamic: one payment
        + _tlv("26", _tlv("00", "ID.CO.NERACA.WWW") + _tlv("01", "936000000000000000") + _tlv("02", nmid))
        + _tlv("51", merchant_info)
        + _tlv("52", "5999")
        + _tlv("53", "360")
        + _tlv("54", str(amount))
        + _tlv("58", "ID")
        + _tlv("59", merchant_name[:25])
        + _tlv("60", city[:15])
        + _tlv("61", "10110")
        + _tlv("62", _tlv("01", reference[:25]))
        + "6304"
    )
    return body + f"{crc16_ccitt(body.encode()):04X}"
