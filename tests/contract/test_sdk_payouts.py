"""`client.beneficiaries` and `client.rails` against the live server and the sandbox provider's name
inquiry, with the blocking and the asyncio client."""

from __future__ import annotations

from typing import Any

import neraca
import pytest
from neraca.models import Beneficiary, RailList, RailQuote

from tests.support.contract import collect, res
from tests.support.payouts import DIRECTORY, register


async def test_beneficiaries(sdk: Any) -> None:
    await register({**DIRECTORY, "account_number": "8800119911", "holder_name": "Dewi Lestari"})
    created = await res(
        sdk.beneficiaries.create(
            kind="bank", bank_code="014", account_number="8800119911", holder_name="Dewi Lestari"
        )
    )
    assert isinstance(created, Beneficiary)
    assert (created.holder_name, created.name_matches, created.is_default) == ("DEWI LESTARI", True, True)
    with pytest.raises(neraca.UnprocessableEntityError) as mismatch:
        await res(
            sdk.beneficiaries.create(
                kind="ewallet", wallet="OVO", phone="081299998888", holder_name="Someone Else"
            )
        )
    assert mismatch.value.code == "name_mismatch"
    holder = mismatch.value.body["holder_name"]
    wallet = await res(
        sdk.beneficiaries.create(
            kind="ewallet",
            wallet="OVO",
            phone="081299998888",
            holder_name="Someone Else",
            confirm_holder_name=holder,
        )
    )
    assert wallet.name_matches is False and wallet.holder_name == holder
    assert (await res(sdk.beneficiaries.set_default(wallet.id))).is_default is True
    assert (await res(sdk.beneficiaries.retrieve(created.id))).is_default is False
    assert {b.id for b in await collect(sdk.beneficiaries.list())} == {created.id, wallet.id}
    await res(sdk.beneficiaries.delete(wallet.id))
    with pytest.raises(neraca.NotFoundError):
        await res(sdk.beneficiaries.retrieve(wallet.id))


async def test_rails(sdk: Any) -> None:
    rails = await res(sdk.rails.list())
    assert isinstance(rails, RailList)
    skn = next(r for r in rails.data if r.code == "skn")
    assert skn.always_open is False and skn.windows[-1].cutoff == "15:00"
    quote = await res(sdk.rails.quote(amount=300_000_000, destination="bank"))
    assert isinstance(quote, RailQuote) and (quote.rail, quote.fee) == ("skn", 2_900)
    assert quote.eta >= quote.received_at
    with pytest.raises(neraca.UnprocessableEntityError) as over:
        await res(sdk.rails.quote(amount=60_000_000, destination="bank", rail="online"))
    assert over.value.code == "rail_above_maximum"
