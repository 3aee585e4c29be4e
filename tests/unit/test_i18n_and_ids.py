from __future__ import annotations

import re

from portal.lib import ids
from portal.lib.i18n import negotiate
from portal.lib.ids import new_id, new_ids


def test_user_setting_beats_cookie_beats_accept_language() -> None:
    assert negotiate("en", "id", user_language="id") == "id"
    assert negotiate("id", "en-US,en;q=0.9") == "id"
    assert negotiate(None, "en;q=0.4, id-ID;q=0.8") == "id"
    assert negotiate(None, "fr-FR,de;q=0.5") == "en"
    assert negotiate("xx", None) == "en"
    assert negotiate(None, "id;q=abc, en") == "en"


def test_ids_are_prefixed_sortable_and_unique() -> None:
    ids = [new_id("acc") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"acc_[0-9a-hjkmnp-tv-z]{26}", value) for value in ids)
    assert new_id("trf") > ids[0].replace("acc", "trf")  # later ids sort after earlier ones


def test_ids_made_in_blocks_look_like_single_ids() -> None:
    before = new_id("trf")
    block = new_ids("trf", 3000)
    assert len(set(block)) == len(block)
    assert all(re.fullmatch(r"trf_[0-9a-hjkmnp-tv-z]{26}", value) for value in block)
    # One clock read: the ten characters of time are the same in the block, not before `before`'s.
    assert len({value[:14] for value in block}) == 1 and before[:14] <= block[0][:14]


def test_ids_made_in_blocks_take_five_random_bits_per_character(monkeypatch) -> None:
    """Each random character is one byte's low five bits: every character equally likely (256 = 8 × 32),
    80 random bits per id as in `new_id`."""
    monkeypatch.setattr(ids.os, "urandom", lambda size: bytes(n % 256 for n in range(size)))
    block = new_ids("trf", 32)
    noise = "".join(value[14:] for value in block)
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    assert noise == alphabet * 16
    assert len(block[0]) == len(new_id("trf"))
