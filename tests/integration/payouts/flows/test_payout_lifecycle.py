"""Payouts end to end against the sandbox provider: held at creation, submitted by the job, settled by
its callback (posted once), failed (auto-refund), reversed (booked back), maker-checker with a TOTP code,
a timeout resolved by a status query, and the business-day scheduling of SKN and RTGS. Every scenario
ends with the ledger's invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.payouts import lifecycle
from portal.domains.payouts.router import WIB
from portal.lib import clock, sql
from portal.lib.errors import Conflict, ValidationFailed
from portal.settings import get_settings
from tests.support.identity import code_for, enrol
from tests.support.payouts import (
    DIRECTORY,
    assert_ledger_sound,
    balances,
    names_checked,
    payout_world,
    register,
)
from tests.support.provider import Harness


async def status_of(business_id: str, payout_id: str) -> str:
    return str(
        await sql.fetchval(
            "SELECT status FROM payout WHERE business_id = $1 AND id = $2", business_id, payout_id
        )
    )


async def test_a_payout_is_held_then_posted_once_when_the_bank_pays(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=1_000_000, reference="PO-OK")
    assert payout.status == "scheduled" and payout.rail == "bifast" and payout.fee == 2_500
    posted, available = await balances(actor, main)
    assert (posted, available) == (500_000_000, 500_000_000 - 1_002_500)
    await harness.wait_for(lambda: status_of(business.id, payout.id), "succeeded")
    assert await balances(actor, main) == (500_000_000 - 1_002_500,) * 2
    done = await lifecycle.get_payout(actor, payout.id)
    assert done.bank_reference and done.verification_code
    events = await sql.fetch(
        "SELECT type FROM event WHERE business_id = $1 AND type LIKE 'payout.%' ORDER BY sequence",
        business.id,
    )
    assert [e["type"] for e in events] == ["payout.scheduled", "payout.succeeded"]
    await assert_ledger_sound()


async def test_a_failed_payout_is_refunded_at_once(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    # An amount ending in 666 is refused by the beneficiary bank in the sandbox.
    payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=1_000_666, reference="PO-FAIL")
    await harness.wait_for(lambda: status_of(business.id, payout.id), "failed")
    assert await balances(actor, main) == (500_000_000, 500_000_000)
    failed = await lifecycle.get_payout(actor, payout.id)
    assert failed.failure_code == "rejected"
    await assert_ledger_sound()


async def test_a_reversal_after_success_restores_the_balance(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=2_000_000, reference="PO-REV")
    await harness.wait_for(lambda: status_of(business.id, payout.id), "succeeded")
    provider_id = await sql.fetchval(
        "SELECT provider_payout_id FROM payout WHERE business_id = $1 AND id = $2", business.id, payout.id
    )
    await harness.control("POST", f"/control/api/payouts/{provider_id}/reverse")
    await harness.wait_for(lambda: status_of(business.id, payout.id), "reversed")
    assert await balances(actor, main) == (500_000_000, 500_000_000)
    await assert_ledger_sound()


async def test_a_timeout_then_success_books_once(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    business, _user, actor, ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    monkeypatch.setenv("NERACA_PROVIDER_TIMEOUT_MS", "1000")  # the timeout rail holds its answer 5 s
    get_settings.cache_clear()
    await harness.control("POST", "/control/api/callbacks/mode", {"mode": "duplicate"})
    await harness.control("POST", "/control/api/rails/bifast", {"mode": "timeout"})
    try:
        payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=3_000_000, reference="PO-TO")
        await harness.wait_for(lambda: status_of(business.id, payout.id), "succeeded")
        # Asking again (the sweep's status query, a repeated submission) changes nothing.
        assert await lifecycle.apply_provider_status(business.id, payout.id, "succeeded") == "already"
        assert await lifecycle.submit_payout(business.id, payout.id) == "skipped"
    finally:
        monkeypatch.delenv("NERACA_PROVIDER_TIMEOUT_MS")
        get_settings.cache_clear()
    assert await balances(actor, main) == (500_000_000 - 3_002_500,) * 2
    posts = await sql.fetchval(
        "SELECT count(*) FROM transfer WHERE business_id = $1 AND kind = 'payout' AND phase = 'post_pending'",
        business.id,
    )
    assert posts == 1
    await assert_ledger_sound()


async def test_above_the_threshold_another_user_approves_with_a_fresh_code(harness: Harness) -> None:
    business, user, actor, ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=20_000_000, reference="PO-BIG")
    assert payout.status == "awaiting_approval" and payout.approval_reason == "threshold"
    assert (await balances(actor, main))[1] == 500_000_000 - 20_002_500
    owner_secret = await sql.fetchval("SELECT totp_secret FROM app_user WHERE id = $1", user.id)
    with pytest.raises(ValidationFailed) as own:
        await lifecycle.approve_payout(actor, payout.id, code_for(owner_secret))
    assert own.value.code == "approver_is_maker"
    other = await _second_user(actor)
    secret = await enrol(other.id)
    checker_actor = user_actor(other, business)
    with pytest.raises(ValidationFailed) as wrong:
        await lifecycle.approve_payout(checker_actor, payout.id, "000000")
    assert wrong.value.code == "approval_code_invalid"
    code = code_for(secret)
    approved = await lifecycle.approve_payout(checker_actor, payout.id, code)
    assert approved.status == "scheduled" and approved.approved_by_name
    await harness.wait_for(lambda: status_of(business.id, payout.id), "succeeded")
    second = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=20_000_000, reference="PO-BIG2")
    with pytest.raises(ValidationFailed) as reused:
        await lifecycle.approve_payout(checker_actor, second.id, code)
    assert reused.value.code == "approval_code_used"
    rejected = await lifecycle.reject_payout(checker_actor, second.id, "not expected")
    assert rejected.status == "rejected"
    with pytest.raises(Conflict):
        await lifecycle.approve_payout(checker_actor, second.id, code_for(secret, steps=1))
    assert await balances(actor, main) == (500_000_000 - 20_002_500,) * 2
    await assert_ledger_sound()


async def usable_since_long_ago(business_id: str, beneficiary_id: str) -> None:
    """The beneficiary's cool-down ended long ago (these tests put the clock in the past)."""
    await sql.execute(
        "UPDATE beneficiary SET usable_from = '2020-01-01' WHERE business_id = $1 AND id = $2",
        business_id,
        beneficiary_id,
    )


async def _second_user(actor: Any) -> Any:
    user = await identity.create_user(
        actor,
        username=f"checker{actor.business_id[-8:].lower()}",
        email=f"checker{actor.business_id[-8:].lower()}@example.com",
        full_name="Citra Checker",
        role="admin",
    )
    return await identity.user_by_id(user.id)


async def test_skn_on_friday_afternoon_before_a_holiday_waits_for_tuesday(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world()
    await usable_since_long_ago(business.id, ben)
    friday = datetime(2026, 8, 14, 16, 0, tzinfo=WIB)  # Monday 17 August is Independence Day
    clock.set_clock(lambda: friday)
    try:
        payout = await lifecycle.create_payout(
            actor, beneficiary_id=ben, amount=5_000_000, reference="PO-SKN", rail="skn"
        )
        assert payout.status == "scheduled"
        assert payout.process_at.astimezone(WIB) == datetime(2026, 8, 18, 8, 0, tzinfo=WIB)
        assert payout.eta.astimezone(WIB).date().isoformat() == "2026-08-18"
        assert await lifecycle.submit_payout(business.id, payout.id) == "not_due"
        assert await status_of(business.id, payout.id) == "scheduled"
        clock.set_clock(lambda: datetime(2026, 8, 18, 8, 0, tzinfo=WIB))
        assert [p for _b, p in await lifecycle.due_payouts() if p == payout.id] == [payout.id]
        outcome = await lifecycle.submit_payout(business.id, payout.id)
        assert outcome in ("submitted", "succeeded")
    finally:
        clock.set_clock(None)
    await assert_ledger_sound()


async def test_rtgs_after_the_cutoff_moves_to_the_next_business_day(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world(2_000_000_000)
    await usable_since_long_ago(business.id, ben)
    wednesday = datetime(2026, 12, 2, 14, 1, tzinfo=WIB)
    clock.set_clock(lambda: wednesday)
    try:
        await lifecycle.set_approval_threshold(actor, None)
        payout = await lifecycle.create_payout(
            actor, beneficiary_id=ben, amount=150_000_000, reference="PO-RTGS", rail="rtgs"
        )
    finally:
        clock.set_clock(None)
    assert payout.process_at.astimezone(WIB) == datetime(2026, 12, 3, 8, 0, tzinfo=WIB)
    assert payout.status == "scheduled"
    await assert_ledger_sound()


async def test_bifast_on_a_holiday_goes_at_once(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world()
    await usable_since_long_ago(business.id, ben)
    holiday = datetime(2026, 8, 17, 10, 0, tzinfo=WIB)  # Independence Day
    clock.set_clock(lambda: holiday)
    try:
        payout = await lifecycle.create_payout(actor, beneficiary_id=ben, amount=100_000, reference="PO-XMAS")
        assert payout.process_at == holiday and payout.eta == holiday
        assert [p for _b, p in await lifecycle.due_payouts() if p == payout.id] == [payout.id]
    finally:
        clock.set_clock(None)
    await harness.wait_for(lambda: status_of(business.id, payout.id), "succeeded")
    await assert_ledger_sound()


async def test_bad_input_is_refused_and_holds_nothing(harness: Harness) -> None:
    business, _user, actor, ben = await payout_world(1_000_000, cooldown_s=0)
    await register({**DIRECTORY, "account_number": "8800119876"})
    from portal.domains.payouts import services

    await services.set_cooldown(actor, 3600)
    fresh = await services.add_beneficiary(
        actor, kind="bank", holder_name="Budi Santoso", bank_code="014", account_number="8800119876"
    )
    cases = [
        ({"beneficiary_id": fresh.id, "amount": 10_000}, "beneficiary_cooling_down"),
        ({"beneficiary_id": ben, "amount": 0}, "invalid_amount"),
        ({"beneficiary_id": ben, "amount": 300_000_000, "rail": "bifast"}, "rail_above_maximum"),
        ({"beneficiary_id": ben, "amount": 2_000_000}, "insufficient_funds"),
        ({"beneficiary_id": ben, "amount": 10_000, "rail": "nope"}, "rail_unknown_rail"),
    ]
    for i, (body, code) in enumerate(cases):
        with pytest.raises(Exception) as refused:
            await lifecycle.create_payout(actor, reference=f"PO-BAD-{i}", **body)
        assert getattr(refused.value, "code", None) == code, (body, refused.value)
    assert await sql.fetchval("SELECT count(*) FROM payout WHERE business_id = $1", business.id) == 0
    assert await sql.fetchval("SELECT count(*) FROM hold WHERE business_id = $1", business.id) == 0
    await assert_ledger_sound()


async def test_a_withdrawal_is_sent_as_a_payout_to_the_own_bank_account_keeping_its_fee(
    harness: Harness,
) -> None:
    from portal.domains.ledger import services as ledger

    business, _user, actor, _ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    await accounts.update_account(
        actor,
        main,
        {
            "settlement_bank": {
                "bank_code": "014",
                "account_number": "8800112233",
                "holder_name": "Budi Santoso",
            }
        },
    )
    withdrawal = await ledger.create_withdrawal(actor, account_id=main, amount=750_000, reference="WD-PO")
    fee = withdrawal.fee
    await harness.wait_for(
        lambda: sql.fetchval(
            "SELECT status FROM withdrawal WHERE business_id = $1 AND id = $2", business.id, withdrawal.id
        ),
        "paid",
    )
    payout = await sql.fetchrow(
        "SELECT id, kind, fee, rail, status FROM payout WHERE business_id = $1 AND withdrawal_id = $2",
        business.id,
        withdrawal.id,
    )
    assert payout is not None and dict(payout) | {"id": None} == {
        "id": None,
        "kind": "withdrawal",
        "fee": fee,
        "rail": "bifast",
        "status": "succeeded",
    }
    assert await balances(actor, main) == (500_000_000 - 750_000 - fee,) * 2
    with pytest.raises(Conflict):
        await ledger.mark_withdrawal_failed(actor, withdrawal.id, reason="too late")
    await assert_ledger_sound()


async def test_an_approved_batch_is_submitted_together_and_settles_each_payout_once(harness: Harness) -> None:
    from portal.domains.payouts import batches

    business, _user, actor, _ben = await payout_world()
    main = (await accounts.main_account(actor)).id
    text = (
        "reference,amount,code,account_number,holder_name,description,email\n"
        "BT-1,100000,014,8800112233,Budi Santoso,,\n"
        "BT-2,200000,014,8800112233,Budi Santoso,,\n"
        "BT-3,300666,014,8800112233,Budi Santoso,,\n"  # refused by the bank in the sandbox
    )
    batch_id = await batches.upload_batch(actor, "bt.csv", text.encode())
    await batches.submit_batch(actor, batch_id)
    other = await identity.create_user(
        actor,
        username=f"bchk{business.id[-8:].lower()}",
        full_name="Citra Checker",
        email=f"bchk{business.id[-8:].lower()}@example.com",
        role="admin",
    )
    secret = await enrol(other.id)
    checker = user_actor(await identity.user_by_id(other.id), business)
    await names_checked(business.id, batch_id)  # the worker's inquiry job may not have run yet
    approved = await batches.approve_batch(checker, batch_id, code_for(secret))
    # The worker may already have taken the submission job: every payout is past approval.
    assert sum(approved.progress.values()) == 3 and "awaiting_approval" not in approved.progress
    ids = [
        r["id"]
        for r in await sql.fetch(
            "SELECT id FROM payout WHERE business_id = $1 AND batch_id = $2 ORDER BY reference",
            business.id,
            batch_id,
        )
    ]
    for payout_id, final in zip(ids, ("succeeded", "succeeded", "failed"), strict=True):
        await harness.wait_for(lambda p=payout_id: status_of(business.id, p), final)
    # The job already sent them: another submission of the same payouts changes nothing.
    assert await lifecycle.submit_many(business.id, ids) == dict.fromkeys(ids, "skipped")
    paid = 100_000 + 200_000 + 2 * 2_500
    assert await balances(actor, main) == (500_000_000 - paid, 500_000_000 - paid)
    events = await sql.fetch(
        "SELECT type, count(*) AS n FROM event WHERE business_id = $1 AND type LIKE 'payout.%' GROUP BY type",
        business.id,
    )
    assert {e["type"]: e["n"] for e in events} == {
        "payout.scheduled": 3,
        "payout.succeeded": 2,
        "payout.failed": 1,
    }
    approvals = await sql.fetchval(
        "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'payout.approved'", business.id
    )
    assert approvals == 3
    await assert_ledger_sound()


async def test_batch_rows_are_checked_by_name_inquiry_and_a_differing_name_blocks_approval(
    harness: Harness,
) -> None:
    """After the upload the worker asks the sandbox provider for each row's holder: the name it returns is
    kept, a differing name (and an unknown or closed account) is shown on the row and holds the batch's
    approval back until an approver (not the maker) accepts the bank's name, in the activity log."""
    from portal.domains.payouts import batches

    business, _user, actor, _ben = await payout_world()
    await register({"bank_code": "014", "account_number": "8800112244", "holder_name": "Siti Aminah"})
    text = (
        "reference,amount,code,account_number,holder_name,description,email\n"
        "NI-1,100000,014,8800112233,Bpk. Budi Santoso,,\n"  # matches, honorific aside
        "NI-2,100000,014,8800112244,Sita Amina,,\n"  # the bank says SITI AMINAH
        "NI-3,100000,014,8800110000,Budi,,\n"  # unknown to the bank
        "NI-4,100000,014,8800119999,Budi,,\n"  # closed
    )
    batch_id = await batches.upload_batch(actor, "ni.csv", text.encode())

    async def names() -> dict[int, tuple[str, str | None]]:
        rows = await batches.batch_rows(actor, batch_id)
        return {r["row_no"]: (r["name_status"], r["bank_holder_name"]) for r in rows}

    await harness.wait_for(
        names,
        {
            2: ("matched", "BUDI SANTOSO"),
            3: ("mismatch", "SITI AMINAH"),
            4: ("not_found", None),
            5: ("closed", None),
        },
    )
    await batches.delete_row(actor, batch_id, 5)
    await batches.submit_batch(actor, batch_id)
    other = await identity.create_user(
        actor,
        username=f"nchk{business.id[-8:].lower()}",
        full_name="Nina Checker",
        email=f"nchk{business.id[-8:].lower()}@example.com",
        role="admin",
    )
    secret = await enrol(other.id)
    checker = user_actor(await identity.user_by_id(other.id), business)
    with pytest.raises(ValidationFailed) as blocked:
        await batches.approve_batch(checker, batch_id, code_for(secret))
    assert blocked.value.code == "batch_names_unaccepted"
    assert [e.pointer for e in blocked.value.errors] == ["/rows/3/holder_name", "/rows/4/holder_name"]
    with pytest.raises(ValidationFailed) as own:
        await batches.accept_name(actor, batch_id, 3)
    assert own.value.code == "approver_is_maker"
    with pytest.raises(Conflict):
        await batches.accept_name(checker, batch_id, 4)  # an unknown account has no name to accept
    await batches.accept_name(checker, batch_id, 3)
    # The unknown account still holds the batch back: the approver rejects it, nothing was paid.
    with pytest.raises(ValidationFailed):
        await batches.approve_batch(checker, batch_id, code_for(secret))
    accepted = await sql.fetchval(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'payout_batch.name_accepted'",
        business.id,
    )
    assert "SITI AMINAH" in accepted and "Sita Amina" in accepted
    rows = {r["row_no"]: r for r in await batches.batch_rows(actor, batch_id)}
    assert rows[3]["name_accepted_by_name"].startswith("Nina Checker")
    rejected = await batches.reject_batch(checker, batch_id, "unknown account")
    assert rejected.progress == {"rejected": 3}
    # A batch whose only differing name is accepted is approved (the refusals above spent no code).
    second = await batches.upload_batch(
        actor, "ni2.csv", (text.split("\n", 1)[0] + "\nNI-5,100000,014,8800112244,Sita Amina,,\n").encode()
    )
    await harness.wait_for(
        lambda: sql.fetchval(
            "SELECT name_status FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2",
            business.id,
            second,
        ),
        "mismatch",
    )
    await batches.submit_batch(actor, second)
    await batches.accept_name(checker, second, 2)
    approved = await batches.approve_batch(checker, second, code_for(secret))
    assert approved.status == "approved"
    await assert_ledger_sound()
