"""`client.beneficiaries`, `client.rails` and `client.payouts` against the live server and the sandbox
provider's name inquiry, with the blocking and the asyncio client."""

from __future__ import annotations

from typing import Any

import neraca
import pytest
from neraca.models import Beneficiary, Payout, PayoutBatch, PayoutSettings, RailList, RailQuote

from portal.domains.payouts import lifecycle
from portal.lib import sql
from tests.support.contract import ALL, Key, collect, funded, ref, res
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


async def test_payouts(sdk: Any, key: Key, tmp_path: Any) -> None:
    main, _division, _partner = await funded(sdk, 50_000_000)
    await register({**DIRECTORY, "account_number": "8800117722", "holder_name": "Rina Kusumawati"})
    ben = await res(
        sdk.beneficiaries.create(
            kind="bank", bank_code="014", account_number="8800117722", holder_name="Rina Kusumawati"
        )
    )
    with pytest.raises(neraca.UnprocessableEntityError) as cooling:
        await res(sdk.payouts.create(beneficiary_id=ben.id, amount=100_000, reference=ref("PO")))
    assert cooling.value.code == "beneficiary_cooling_down"
    # The cool-down has passed (the business's default is an hour).
    await sql.execute(
        "UPDATE beneficiary SET usable_from = now() - interval '1 minute' WHERE business_id = $1 AND id = $2",
        key.business_id,
        ben.id,
    )
    small = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=100_000, reference=ref("PO")))
    assert isinstance(small, Payout)
    assert (small.status, small.rail, small.fee, small.account_number) == (
        "scheduled",
        "bifast",
        2_500,
        "••••••7722",
    )
    assert (await res(sdk.balances.retrieve(main.id))).on_hold == 102_500
    cancelled = await res(sdk.payouts.cancel(small.id))
    assert cancelled.status == "cancelled"
    assert (await res(sdk.balances.retrieve(main.id))).on_hold == 0
    big = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=12_000_000, reference=ref("PO")))
    assert (big.status, big.approval_reason) == ("awaiting_approval", "threshold")
    with pytest.raises(neraca.PermissionDeniedError):
        await res(sdk.payouts.approve(big.id, code="123456"))
    checker = (await key.sibling(ALL | {"approvals:manage"})).client("sync")
    try:
        with pytest.raises(neraca.UnprocessableEntityError) as by_key:
            checker.payouts.approve(big.id, code="123456")
        assert by_key.value.code == "approver_not_a_user"
        assert checker.payouts.reject(big.id, reason="wrong amount").status == "rejected"
    finally:
        checker.close()
    assert [p.id for p in await collect(sdk.payouts.list(status="rejected"))] == [big.id]
    with pytest.raises(neraca.ConflictError):
        await res(sdk.payouts.proof(big.id, path=tmp_path / "none.pdf"))
    paid = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=200_000, reference=ref("PO")))
    # The bank's answer, as the provider's callback would bring it (no job worker runs beside this server).
    await sql.execute(
        "UPDATE payout SET status = 'submitted', submitted_at = now() WHERE business_id = $1 AND id = $2",
        key.business_id,
        paid.id,
    )
    await lifecycle.apply_provider_status(key.business_id, paid.id, "succeeded", bank_reference="BIFAST0001")
    done = await res(sdk.payouts.retrieve(paid.id))
    assert done.status == "succeeded" and done.bank_reference == "BIFAST0001" and done.verification_code
    target = await res(sdk.payouts.proof(paid.id, path=tmp_path / "proof.pdf"))
    assert target.read_bytes().startswith(b"%PDF")


async def test_cancel_repeated_with_the_callers_request_id_cancels_once(sdk: Any, key: Key) -> None:
    main, _division, _partner = await funded(sdk, 1_000_000)
    before = (await res(sdk.balances.retrieve(main.id))).available
    await register({**DIRECTORY, "account_number": "8800113344", "holder_name": "Agus Salim"})
    ben = await res(
        sdk.beneficiaries.create(
            kind="bank", bank_code="014", account_number="8800113344", holder_name="Agus Salim"
        )
    )
    await sql.execute(
        "UPDATE beneficiary SET usable_from = now() - interval '1 minute' WHERE business_id = $1 AND id = $2",
        key.business_id,
        ben.id,
    )
    payout = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=100_000, reference=ref("PO")))
    assert (await res(sdk.balances.retrieve(main.id))).on_hold == 102_500
    # The caller's own Request-Id (from its own record) makes the cancel safe to repeat after a crash.
    own = f"cancel-{payout.id}"
    cancelled = await res(sdk.payouts.cancel(payout.id, request_id=own))
    assert cancelled.status == "cancelled"
    assert await res(sdk.payouts.cancel(payout.id, request_id=own)) == cancelled
    balance = await res(sdk.balances.retrieve(main.id))
    assert (balance.on_hold, balance.available) == (0, before)
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'payout.cancelled' "
            "AND refs->>'payout_id' = $2",
            key.business_id,
            payout.id,
        )
        == 1
    )
    # Without it the repeat is a new request, refused: the payout is cancelled already.
    with pytest.raises(neraca.ConflictError) as again:
        await res(sdk.payouts.cancel(payout.id))
    assert again.value.code == "payout_not_cancellable"


async def test_payout_settings_decide_which_payouts_wait_for_approval(sdk: Any, key: Key) -> None:
    await funded(sdk, 50_000_000)
    await register({**DIRECTORY, "account_number": "8800117733", "holder_name": "Rina Kusumawati"})
    ben = await res(
        sdk.beneficiaries.create(
            kind="bank", bank_code="014", account_number="8800117733", holder_name="Rina Kusumawati"
        )
    )
    await sql.execute(
        "UPDATE beneficiary SET usable_from = now() - interval '1 minute' WHERE business_id = $1 AND id = $2",
        key.business_id,
        ben.id,
    )
    default = await res(sdk.payouts.settings())
    assert isinstance(default, PayoutSettings)
    assert (default.approval_threshold, default.beneficiary_cooldown_s) == (10_000_000, 3600)
    lowered = await res(sdk.payouts.update_settings(approval_threshold=50_000))
    assert (lowered.approval_threshold, lowered.beneficiary_cooldown_s) == (50_000, 3600)
    small = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=100_000, reference=ref("PO")))
    assert (small.status, small.approval_reason) == ("awaiting_approval", "threshold")
    at_it = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=50_000, reference=ref("PO")))
    assert at_it.status == "scheduled"
    with pytest.raises(neraca.UnprocessableEntityError) as negative:
        await res(sdk.payouts.update_settings(approval_threshold=-1))
    assert negative.value.code == "invalid_threshold"
    assert [e["pointer"] for e in negative.value.body["errors"]] == ["/approval_threshold"]
    with pytest.raises(neraca.UnprocessableEntityError) as both:
        await res(sdk.payouts.update_settings(approval_threshold="lots", beneficiary_cooldown_s=10**9))
    assert both.value.code == "invalid_settings"
    assert (await res(sdk.payouts.settings())).approval_threshold == 50_000
    none = await res(sdk.payouts.update_settings(approval_threshold=None, beneficiary_cooldown_s=0))
    assert (none.approval_threshold, none.beneficiary_cooldown_s) == (None, 0)
    big = await res(sdk.payouts.create(beneficiary_id=ben.id, amount=12_000_000, reference=ref("PO")))
    assert (big.status, big.approval_reason) == ("scheduled", None)
    trail = await sql.fetch(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'payout_settings.updated' "
        "ORDER BY id",
        key.business_id,
    )
    assert [r["summary"] for r in trail] == [
        "Payout approval threshold Rp10.000.000 → Rp50.000",
        "Payout approval threshold Rp50.000 → none",
        "Beneficiary cool-down 3600 s → 0 s",
    ]


async def test_payout_batches(sdk: Any, key: Key, tmp_path: Any) -> None:
    await funded(sdk, 5_000_000)
    header = "reference,amount,code,account_number,holder_name,description,email\n"
    bad = await res(
        sdk.payout_batches.create(
            file=(header + "S-1,100000,014,8800112233,Budi,,\nS-2,5,999,1,,,\n").encode()
        )
    )
    assert isinstance(bad, PayoutBatch) and (bad.batch.rows, bad.batch.invalid) == (2, 1)
    assert {e.column for e in bad.data[1].errors} == {"code", "holder_name"}
    with pytest.raises(neraca.UnprocessableEntityError) as invalid:
        await res(sdk.payout_batches.submit(bad.batch.id))
    assert invalid.value.code == "batch_has_invalid_rows"
    path = tmp_path / "good.csv"
    path.write_text(
        header
        + f"{ref('S')},100000,014,8800112233,Budi Santoso,,\n{ref('S')},20000,OVO,081234567890,Agus,,\n"
    )
    good = await res(sdk.payout_batches.create(file=path))
    assert good.batch.filename == "good.csv" and good.batch.invalid == 0
    submitted = await res(sdk.payout_batches.submit(good.batch.id))
    assert submitted.batch.status == "submitted" and submitted.batch.progress == {"awaiting_approval": 2}
    assert all(r.payout_id and r.status == "awaiting_approval" for r in submitted.data)
    # No worker here: the rows are still being checked; "Check again" queues their check once more.
    rechecked = await res(sdk.payout_batches.check_names(good.batch.id))
    assert [r.name_status for r in rechecked.data] == ["pending", "pending"]
    assert {b.id for b in (await res(sdk.payout_batches.list())).data} == {bad.batch.id, good.batch.id}
    with pytest.raises(neraca.UnprocessableEntityError) as formula:
        await res(sdk.payout_batches.create(file=(header + "S-9,=1+2,014,8800112233,Budi,,\n").encode()))
    assert formula.value.code == "formula_in_cell"
    checker = (await key.sibling(ALL | {"approvals:manage"})).client("sync")
    try:
        with pytest.raises(neraca.UnprocessableEntityError) as by_key:
            checker.payout_batches.approve(good.batch.id, code="123456")
        assert by_key.value.code == "approver_not_a_user"
        with pytest.raises(neraca.UnprocessableEntityError) as accept_by_key:
            checker.payout_batches.accept_name(good.batch.id, 2)
        assert accept_by_key.value.code == "approver_not_a_user"
    finally:
        checker.close()
