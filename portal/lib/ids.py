"""Prefixed, time-ordered, non-guessable ids (`acc_01J…`): a ULID-style 48-bit time + 80 random bits."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# Two base32 characters per 10 bits: 13 lookups instead of 26 divisions (ids are made per ledger leg).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_SHIFTS = tuple(range(120, -1, -10))


def new_id(prefix: str) -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


_TIME_SHIFTS = _SHIFTS[:5]  # bits 80–129: the millisecond time only


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids at once (one clock read, one call for the random bytes): for set-based work, in the
    form `new_id` makes in that millisecond. The time's ten characters are encoded once; each random
    character is one random byte's low five bits (256 = 8 × 32: uniform), mapped in C by
    `bytes.translate` — a settlement batch draws tens of thousands of ids."""
    millis = int(time.time() * 1000) << 80
    head = prefix + "_" + "".join([_PAIRS[(millis >> shift) & 1023] for shift in _TIME_SHIFTS])
    noise = os.urandom(16 * count).translate(_FIVE_BITS).decode()
    return [head + noise[n : n + 16] for n in range(0, 16 * count, 16)]


# Byte → the character of its low five bits.
_FIVE_BITS = bytes(_ALPHABET[byte & 31].encode()[0] for byte in range(256))
