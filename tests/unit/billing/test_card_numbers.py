"""A card number typed into any field is recognised (13–19 digits passing Luhn, spaced or dashed) and
refused without echoing it; ordinary references and phone numbers are not mistaken for one."""

from __future__ import annotations

import pytest

from portal.domains.billing.services import common
from portal.lib.errors import ValidationFailed


@pytest.mark.parametrize(
    "text",
    ["4111111111111111", "4111 1111 1111 1111", "card 5555-5555-5555-4444 please", "4556330000000001"],
)
def test_card_numbers_are_recognised(text: str) -> None:
    assert common.looks_like_card_number(text)


@pytest.mark.parametrize(
    "text", ["INV-2027-0001", "081234567890", "4111111111111112", "1234567890123", "BIL 001 002"]
)
def test_other_text_is_not_a_card_number(text: str) -> None:
    assert not common.looks_like_card_number(text)


def test_the_refusal_names_the_field_never_the_number() -> None:
    with pytest.raises(ValidationFailed) as refused:
        common.text("pay with 4111 1111 1111 1111", "/description", max_length=140)
    problem = refused.value
    assert problem.code == "card_number_refused"
    assert [e.pointer for e in problem.errors] == ["/description"]
    assert "4111" not in str(problem.detail) and "1111" not in str(problem.params)
