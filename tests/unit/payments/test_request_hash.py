"""A payment request's hash (the invoice number's idempotency) is the hash it has always been: the JSON of
`dataclasses.asdict` of the request less its expiry and source, so requests stored before still match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domains.payments.services.payments import PaymentRequest, _request_hash

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _as_always(request: PaymentRequest) -> str:
    data = asdict(request)
    data.pop("expires_at")
    data.pop("source")
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(1, 10**12),
    texts=st.lists(st.none() | st.text(max_size=10), min_size=6, max_size=6),
    metadata=st.dictionaries(st.text(max_size=6), _JSON, max_size=4),
    split=st.none() | st.lists(st.dictionaries(st.text(max_size=6), _JSON, max_size=3), max_size=3),
    expires=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_the_hash_is_the_json_of_the_fields_as_asdict_gives_them(
    amount: int, texts: list[str | None], metadata: dict, split: list | None, expires: datetime | None
) -> None:
    request = PaymentRequest(
        account_id="acc_1",
        amount=amount,
        channel="card",
        invoice_number="INV-1",
        customer_name="Budi",
        customer_id=texts[0],
        customer_email=texts[1],
        description=texts[2],
        bank_code=texts[3],
        wallet=texts[4],
        card_token=texts[5],
        metadata=metadata,
        split=split,
        expires_at=expires,
        source="billing",
    )
    assert _request_hash(request) == _as_always(request)
