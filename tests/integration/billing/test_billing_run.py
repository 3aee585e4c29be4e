"""The billing run against the real sandbox provider: each due execute date charged exactly once (a
second run, two concurrent runs, a claim left by a dead worker), the bank's answer recorded, soft
declines retried on the next business day, hard declines never, reminders announced without a charge."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from portal.domains.billing import services
from portal.domains.billing.services import common, run
from portal.domains.provider import gateway
from portal.lib import clock, sql
from portal.lib.timefmt import WIB
from tests.support.billing import (
    advance_provider_clock,
    billing_business,
    customer_and_billing,
    decline_next,
    pin_provider_clock,
    register_card,
)
from tests.support.billing_run import deliver_mail, provider_card_payins
from tests.support.payouts import assert_ledger_sound


def at(day: date, hour: int = 10) -> Any:
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=WIB)
    return lambda: moment


async def charges(business_id: str) -> list[Any]:
    return list(
        await sql.fetch(
            "SELECT * FROM billing_charge WHERE business_id = $1 ORDER BY execute_date, id", business_id
        )
    )


async def test_a_due_billing_is_charged_once_and_the_answer_recorded(db: str) -> None:
    actor, business = await billing_business()
    today = common.today()
    billing = await customer_and_billing(
        actor, "BIL-RUN-1", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
    )
    assert billing.next_execute_dates == [today]
    registered = await register_card(actor, billing.id)
    assert registered.card.status == "registered" and registered.card.last4 == "1111"
    assert registered.card.first6 == "411111" and registered.card.issuer == "Sandbox Test Bank"
    first = await services.run_billing(business_id=business.id)
    assert (first.charged, first.paid, first.failed) == (1, 1, 0)
    again = await services.run_billing(business_id=business.id)
    assert again.charged == 0
    (charge,) = await charges(business.id)
    assert charge["status"] == "paid" and charge["response_code"] == "00"
    assert charge["approval_code"] and len(charge["approval_code"]) == 6
    assert charge["issuer"] == "Sandbox Test Bank" and charge["card_last4"] == "1111"
    assert charge["invoice_number"] == f"BIL-RUN-1-{today:%Y%m%d}"
    events = await sql.fetch("SELECT type FROM event WHERE business_id = $1 ORDER BY sequence", business.id)
    assert [e["type"] for e in events].count("billing.charge.succeeded") == 1


async def test_two_concurrent_runs_charge_each_date_once(db: str) -> None:
    actor, business = await billing_business()
    today = common.today()
    ids = []
    for n in range(8):
        billing = await customer_and_billing(
            actor, f"BIL-CC-{n}", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
        )
        await register_card(actor, billing.id)
        ids.append(billing.id)
    one, two = await asyncio.gather(
        services.run_billing(business_id=business.id, worker="w1"),
        services.run_billing(business_id=business.id, worker="w2"),
    )
    assert one.charged + two.charged == 8
    rows = await charges(business.id)
    assert len(rows) == 8 and {r["status"] for r in rows} == {"paid"}
    attempts = await sql.fetchval(
        "SELECT count(*) FROM billing_charge_attempt WHERE business_id = $1", business.id
    )
    assert attempts == 8
    # The provider holds one pay-in per invoice number: each payment's reference answers one paid pay-in.
    payments = await sql.fetch(
        "SELECT id, provider_payin_id FROM payment WHERE business_id = $1 AND source = 'billing'", business.id
    )
    assert len(payments) == 8 and len({p["provider_payin_id"] for p in payments}) == 8
    provider = gateway.provider()
    for payment in payments:
        found = await provider.find_payin(business.id, payment["id"])
        assert found is not None and found.payin_id == payment["provider_payin_id"] and found.status == "paid"


async def test_a_claim_left_by_a_dead_worker_is_taken_over_without_a_second_charge(db: str) -> None:
    actor, business = await billing_business()
    today = common.today()
    billing = await customer_and_billing(
        actor, "BIL-DEAD", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
    )
    await register_card(actor, billing.id)
    await services.run_billing(business_id=business.id, worker="first")
    (charge,) = await charges(business.id)
    # As if the worker was killed after the provider answered, before it wrote the outcome.
    await sql.execute(
        "UPDATE billing_charge SET status = 'charging', claimed_by = 'dead', claimed_at = $2, "
        "response_code = NULL, "
        "approval_code = NULL WHERE id = $1",
        charge["id"],
        clock.now() - timedelta(minutes=10),
    )
    await sql.execute("DELETE FROM billing_charge_attempt WHERE charge_id = $1", charge["id"])
    taken = await services.run_billing(business_id=business.id, worker="second")
    assert taken.paid == 1
    (after,) = await charges(business.id)
    assert after["status"] == "paid" and after["approval_code"] == charge["approval_code"]
    assert after["provider_payin_id"] == charge["provider_payin_id"]


async def test_soft_declines_retry_on_the_next_business_day_and_hard_ones_never(db: str) -> None:
    actor, business = await billing_business()
    friday = date(2031, 1, 3)  # a Friday; the next business day is Monday 6 January 2031
    clock.set_clock(at(friday - timedelta(days=1)))
    try:
        soft = await customer_and_billing(
            actor, "BIL-SOFT", schedule={"schedule_type": "full_date", "dates": [friday.isoformat()]}
        )
        hard = await customer_and_billing(
            actor, "BIL-HARD", schedule={"schedule_type": "full_date", "dates": [friday.isoformat()]}
        )
        soft_card = await sql.fetchval(
            "SELECT card_token FROM billing WHERE id = $1", (await register_card(actor, soft.id)).id
        )
        hard_card = await sql.fetchval(
            "SELECT card_token FROM billing WHERE id = $1", (await register_card(actor, hard.id)).id
        )
        await decline_next(soft_card, "51")
        await decline_next(hard_card, "14")
        clock.set_clock(at(friday))
        result = await services.run_billing(business_id=business.id)
        assert (result.paid, result.failed, result.retrying) == (0, 1, 1)
        rows = {r["billing_number"]: r for r in await charges(business.id)}
        assert rows["BIL-SOFT"]["status"] == "retry" and rows["BIL-SOFT"]["next_attempt_on"] == date(
            2031, 1, 6
        )
        assert rows["BIL-HARD"]["status"] == "failed" and rows["BIL-HARD"]["response_code"] == "14"
        # Saturday: nothing is due.
        clock.set_clock(at(date(2031, 1, 4)))
        assert (await services.run_billing(business_id=business.id)).charged == 0
        clock.set_clock(at(date(2031, 1, 6)))
        monday = await services.run_billing(business_id=business.id)
        assert (monday.charged, monday.paid) == (1, 1)
        rows = {r["billing_number"]: r for r in await charges(business.id)}
        assert rows["BIL-SOFT"]["status"] == "paid" and rows["BIL-SOFT"]["attempt"] == 2
        assert rows["BIL-SOFT"]["invoice_number"].endswith("-R2")
        assert rows["BIL-HARD"]["status"] == "failed"
        failed = await sql.fetchval(
            "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'billing.charge.failed'",
            business.id,
        )
        assert failed == 2
        mails = await sql.fetchval(
            "SELECT count(*) FROM email_outbox WHERE business_id = $1 AND to_address = 'budi@example.com'",
            business.id,
        )
        assert mails == 1  # the final failure only
    finally:
        clock.set_clock(None)


async def test_a_clock_jump_charges_every_passed_date_once_and_reminders_never_charge(db: str) -> None:
    actor, business = await billing_business()
    start = date(2031, 3, 1)
    clock.set_clock(at(start))
    try:
        monthly = await customer_and_billing(
            actor, "BIL-JUMP", schedule={"schedule_type": "date", "day": 5, "months": list(range(1, 13))}
        )
        reminder = await customer_and_billing(
            actor,
            "BIL-REMIND",
            type="reminder",
            schedule={"schedule_type": "date", "day": 5, "months": list(range(1, 13))},
        )
        await register_card(actor, monthly.id)
        clock.set_clock(at(date(2031, 6, 10)))  # March, April, May and June 5 have passed
        result = await services.run_billing(business_id=business.id)
        assert (result.paid, result.reminded) == (4, 4)
        assert (await services.run_billing(business_id=business.id)).charged == 0
        rows = await charges(business.id)
        paid = [r for r in rows if r["billing_id"] == monthly.id]
        assert [r["execute_date"] for r in paid] == [date(2031, m, 5) for m in (3, 4, 5, 6)]
        reminded = [r for r in rows if r["billing_id"] == reminder.id]
        assert {r["status"] for r in reminded} == {"reminded"} and all(
            r["payment_id"] is None for r in reminded
        )
        assert all(r["provider_payin_id"] is None for r in reminded)
    finally:
        clock.set_clock(None)


async def test_an_inactive_billing_is_kept_but_not_run(db: str) -> None:
    actor, business = await billing_business()
    today = common.today()
    billing = await customer_and_billing(
        actor, "BIL-OFF", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
    )
    await register_card(actor, billing.id)
    await services.set_active(actor, billing.id, False)
    assert (await services.run_billing(business_id=business.id)).charged == 0
    assert (await services.get_billing(actor, billing.id)).status == "inactive"


async def test_a_paid_charge_is_a_payment_refunded_in_part_then_voiding_is_refused(db: str) -> None:
    from portal.lib.errors import Conflict, ValidationFailed

    actor, business = await billing_business()
    today = common.today()
    billing = await customer_and_billing(
        actor,
        "BIL-PAY",
        amount=200_000,
        schedule={"schedule_type": "full_date", "dates": [today.isoformat()]},
    )
    await register_card(actor, billing.id)
    await services.run_billing(business_id=business.id)
    (charge,) = await charges(business.id)
    payment = await sql.fetchrow("SELECT * FROM payment WHERE business_id = $1", business.id)
    assert payment is not None and payment["id"] == charge["payment_id"]
    assert (payment["channel"], payment["source"], payment["status"]) == ("card", "billing", "paid")
    assert (payment["account_id"], payment["amount"]) == (billing.account_id, 200_000)
    with pytest.raises(ValidationFailed) as above:
        await services.refund_charge(actor, charge["id"], 200_001)
    assert above.value.code == "refund_exceeds_charge"
    part = await services.refund_charge(actor, charge["id"], 50_000, "returned item")
    assert (part.status, part.refunded_amount) == ("partially_refunded", 50_000)
    with pytest.raises(Conflict):
        await services.void_charge(actor, charge["id"])  # only a charge with nothing refunded is voided
    refunded = await sql.fetchval("SELECT refunded_amount FROM payment WHERE id = $1", payment["id"])
    assert refunded == 50_000
    found = await services.list_charges(actor, approval_code=charge["approval_code"])
    assert [c.id for c in found.data] == [charge["id"]]


async def test_a_charge_is_voided_on_its_business_day_and_not_after(db: str) -> None:
    from portal.lib.errors import Conflict

    actor, business = await billing_business()
    await pin_provider_clock(business.id)
    monday = date(2031, 1, 6)
    clock.set_clock(at(monday - timedelta(days=3)))
    try:
        for number in ("BIL-V1", "BIL-V2"):
            made = await customer_and_billing(
                actor, number, schedule={"schedule_type": "full_date", "dates": [monday.isoformat()]}
            )
            await register_card(actor, made.id)
        clock.set_clock(at(monday))
        await services.run_billing(business_id=business.id)
        first, second = await charges(business.id)
        voided = await services.void_charge(actor, first["id"])
        assert voided.status == "voided" and voided.refunded_amount == 0
        clock.set_clock(at(monday + timedelta(days=1)))
        with pytest.raises(Conflict) as late:
            await services.void_charge(actor, second["id"])
        assert late.value.code == "void_after_settlement"
        assert (await services.get_charge(actor, second["id"])).status == "paid"
    finally:
        clock.set_clock(None)


async def test_a_chunk_charged_at_the_provider_but_never_booked_is_resumed_without_a_second_charge(
    db: str,
) -> None:
    """A worker wrote a chunk's payments and sent part of it to the provider, which charged those cards,
    then died before booking anything. The next run takes the stale claims over: the charged ones get
    their first pay-in back (same references), the others are charged now; each card once, booked once."""
    from portal.domains.billing.services import run
    from portal.domains.billing.services.charging import CardCharge, _payment_request
    from portal.domains.payments.services import card_batch
    from portal.domains.payments.services.payments import _request_hash
    from portal.domains.payments.services.settings import fees_of

    actor, business = await billing_business()
    today = common.today()
    for n in range(5):
        billing = await customer_and_billing(
            actor, f"BIL-CH-{n}", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
        )
        await register_card(actor, billing.id)
    await run.claim_due(today, business.id)
    claims = await run._take(today, "dead", business.id, set())
    assert len(claims) == 5
    cards = {
        r["id"]: r
        for r in await sql.fetch(
            "SELECT b.id, b.card_token, c.customer_ref, c.name, c.email FROM billing b "
            "JOIN billing_customer c ON c.id = b.customer_id WHERE b.business_id = $1",
            business.id,
        )
    }
    requests = [
        _payment_request(
            CardCharge(
                business_id=business.id,
                account_id=row["account_id"],
                invoice_number=row["invoice_number"],
                amount=row["amount"],
                currency=row["currency"],
                card_token=cards[row["billing_id"]]["card_token"],
                customer_ref=cards[row["billing_id"]]["customer_ref"],
                customer_name=cards[row["billing_id"]]["name"],
                customer_email=cards[row["billing_id"]]["email"],
                description=f"Billing {row['billing_number']} {row['execute_date']:%Y-%m-%d}",
                billing_id=row["billing_id"],
                charge_id=row["id"],
            )
        )
        for row in claims
    ]
    await card_batch._insert_payments(
        business.id,
        [(n, r, _request_hash(r), None) for n, r in enumerate(requests)],
        await fees_of(business.id),
    )
    written = await sql.fetch(
        "SELECT id, amount, card_token, customer_name, created_at FROM payment WHERE business_id = $1 "
        "ORDER BY id LIMIT 3",
        business.id,
    )
    first = await gateway.provider().charge_cards(
        business.id,
        [
            gateway.PayinRequest(
                reference=p["id"],
                channel="card",
                amount=p["amount"],
                expires_at=p["created_at"] + timedelta(days=1),
                customer_name=p["customer_name"],
                card_token=p["card_token"],
            )
            for p in written
        ],
    )
    charged_first = {
        p["id"]: a.payin_id for p, a in zip(written, first, strict=True) if isinstance(a, gateway.Payin)
    }
    assert len(charged_first) == 3
    # The worker is gone; later than its claims can live, the next run takes them over.
    later = clock.now() + timedelta(minutes=6)
    clock.set_clock(lambda: later)
    try:
        resumed = await services.run_billing(business_id=business.id, worker="second")
    finally:
        clock.set_clock(None)
    assert (resumed.charged, resumed.paid) == (5, 5)
    rows = await charges(business.id)
    assert {r["status"] for r in rows} == {"paid"} and len(rows) == 5
    payments = await sql.fetch(
        "SELECT id, provider_payin_id, status, hold_id FROM payment WHERE business_id = $1", business.id
    )
    assert len(payments) == 5 and all(p["status"] == "paid" and p["hold_id"] for p in payments)
    for p in payments:
        if p["id"] in charged_first:
            assert p["provider_payin_id"] == charged_first[p["id"]]  # the first charge, not a second
        found = await gateway.provider().find_payin(business.id, p["id"])
        assert found is not None and found.payin_id == p["provider_payin_id"]
    assert {r["provider_payin_id"] for r in rows} == {p["provider_payin_id"] for p in payments}
    held = await sql.fetchval(
        "SELECT count(*) FROM hold WHERE business_id = $1 AND kind = 'payment'", business.id
    )
    assert held == 5
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'payment.paid'", business.id
        )
        == 5
    )


async def test_a_reminder_is_announced_and_mailed_once_and_nothing_is_charged(
    db: str, smtp_sink: Any
) -> None:
    actor, business = await billing_business()
    friday = date(2031, 1, 3)
    clock.set_clock(at(friday - timedelta(days=1)))
    try:
        reminder = await customer_and_billing(
            actor,
            "BIL-REM",
            amount=75_000,
            type="reminder",
            description="Monthly tuition",
            schedule={"schedule_type": "full_date", "dates": [friday.isoformat()]},
        )
        clock.set_clock(at(friday))
        first = await services.run_billing(business_id=business.id)
        again = await services.run_billing(business_id=business.id)
    finally:
        clock.set_clock(None)
    assert (first.reminded, first.charged, again.reminded, again.charged) == (1, 0, 0, 0)
    (charge,) = await charges(business.id)
    assert (charge["kind"], charge["status"], charge["payment_id"]) == ("reminder", "reminded", None)
    assert await sql.fetchval("SELECT count(*) FROM payment WHERE business_id = $1", business.id) == 0
    assert await provider_card_payins(business.id) == []
    events = await sql.fetch(
        "SELECT type, data, account_ids FROM event WHERE business_id = $1 "
        "AND (type = 'billing.reminder' OR type LIKE 'billing.charge.%' OR type LIKE 'payment.%')",
        business.id,
    )
    assert [e["type"] for e in events] == ["billing.reminder"]
    data = events[0]["data"]
    data = json.loads(data) if isinstance(data, str) else data
    assert data == {
        "charge_id": charge["id"],
        "billing_id": reminder.id,
        "billing_number": "BIL-REM",
        "invoice_number": "BIL-REM-20310103",
        "execute_date": "2031-01-03",
        "amount": 75_000,
        "currency": "IDR",
    }
    assert list(events[0]["account_ids"]) == [reminder.account_id]
    await deliver_mail(smtp_sink)
    (message,) = [m for m in smtp_sink.messages if m["To"] == "budi@example.com"]
    assert message["To"] == "budi@example.com"
    assert str(message["Subject"]) == f"Reminder: billing BIL-REM of {business.name} is due"
    text = message.get_body(("plain",)).get_content()
    assert "Hello Budi Santoso" in text and "IDR 75,000" in text and "2031-01-03" in text
    assert "nothing was charged" in text
    # A third run, later the same day, announces nothing more.
    clock.set_clock(at(friday, 23))
    try:
        assert (await services.run_billing(business_id=business.id)).reminded == 0
    finally:
        clock.set_clock(None)
    await deliver_mail(smtp_sink)
    assert len([m for m in smtp_sink.messages if m["To"] == "budi@example.com"]) == 1


async def test_soft_declines_stop_at_the_last_attempt_with_one_mail_and_never_a_fourth_charge(
    db: str, smtp_sink: Any
) -> None:
    actor, business = await billing_business()
    friday = date(2031, 1, 3)
    clock.set_clock(at(friday - timedelta(days=1)))
    try:
        billing = await customer_and_billing(
            actor, "BIL-3X", schedule={"schedule_type": "full_date", "dates": [friday.isoformat()]}
        )
        token = await sql.fetchval(
            "SELECT card_token FROM billing WHERE id = $1", (await register_card(actor, billing.id)).id
        )
        # The provider's clock moves day by day with Neraca's: each attempt is a business day there too.
        await pin_provider_clock(business.id)
        days = [friday, date(2031, 1, 6), date(2031, 1, 7)]  # Friday, then Monday and Tuesday
        for attempt, (day, code) in enumerate(zip(days, ("51", "05", "91"), strict=True), start=1):
            await decline_next(token, code)
            clock.set_clock(at(day))
            result = await services.run_billing(business_id=business.id)
            assert (result.charged, result.paid) == (1, 0)
            assert (result.retrying, result.failed) == ((1, 0) if attempt < run.MAX_ATTEMPTS else (0, 1))
            (charge,) = await charges(business.id)
            assert charge["response_code"] == code
            if attempt < run.MAX_ATTEMPTS:
                assert charge["attempt"] == attempt + 1  # the number of the attempt to come
                assert (charge["status"], charge["next_attempt_on"]) == ("retry", days[attempt])
                # Not due before its day: a second run the same day charges nothing.
                assert (await services.run_billing(business_id=business.id)).charged == 0
                await advance_provider_clock(business.id, 86_400 * (days[attempt] - day).days)
        assert run.MAX_ATTEMPTS == 3
        (charge,) = await charges(business.id)
        assert charge["status"] == "failed" and charge["payment_id"]
        # The card would be approved now: a fourth attempt would show as a charge.
        for later in (date(2031, 1, 8), date(2031, 1, 9), date(2031, 2, 3)):
            clock.set_clock(at(later))
            assert (await services.run_billing(business_id=business.id)).charged == 0
    finally:
        clock.set_clock(None)
    attempts = await sql.fetch(
        "SELECT attempt, invoice_number, status, response_code FROM billing_charge_attempt "
        "WHERE business_id = $1 ORDER BY attempt",
        business.id,
    )
    assert [(a["attempt"], a["invoice_number"], a["status"], a["response_code"]) for a in attempts] == [
        (1, "BIL-3X-20310103", "failed", "51"),
        (2, "BIL-3X-20310103-R2", "failed", "05"),
        (3, "BIL-3X-20310103-R3", "failed", "91"),
    ]
    payins = await provider_card_payins(business.id)
    assert len(payins) == 3 and {p["status"] for p in payins} == {"failed"}
    failed = await sql.fetch(
        "SELECT data FROM event WHERE business_id = $1 AND type = 'billing.charge.failed' ORDER BY sequence",
        business.id,
    )
    retry_on = [
        (json.loads(e["data"]) if isinstance(e["data"], str) else e["data"])["retry_on"] for e in failed
    ]
    assert retry_on == ["2031-01-06", "2031-01-07", None]
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'billing.charge.succeeded'",
            business.id,
        )
        == 0
    )
    await deliver_mail(smtp_sink)
    (message,) = [m for m in smtp_sink.messages if m["To"] == "budi@example.com"]
    assert str(message["Subject"]) == f"Your card payment to {business.name} did not go through"
    text = message.get_body(("plain",)).get_content()
    assert "IDR 150,000 for billing BIL-3X" in text and "2031-01-03" in text
    await assert_ledger_sound()


async def test_the_daily_job_extends_schedules_to_the_horizon_and_keeps_deleted_dates_deleted(
    db: str,
) -> None:
    from portal.domains.billing.schedule import HORIZON_DAYS
    from tests.support.identity import code_for, enrol

    actor, business = await billing_business()
    secret = await enrol(actor.user_id)
    start = date(2031, 3, 1)
    clock.set_clock(at(start))
    try:
        monthly = await customer_and_billing(
            actor, "BIL-HZ", schedule={"schedule_type": "date", "day": 5, "months": list(range(1, 13))}
        )
        once = await customer_and_billing(
            actor, "BIL-ONCE", schedule={"schedule_type": "full_date", "dates": ["2031-03-20"]}
        )

        async def dates(billing_id: str, status: str = "scheduled") -> list[date]:
            return [
                r["execute_date"]
                for r in await sql.fetch(
                    "SELECT execute_date FROM billing_execute_date WHERE business_id = $1 "
                    "AND billing_id = $2 AND status = $3 ORDER BY execute_date",
                    business.id,
                    billing_id,
                    status,
                )
            ]

        horizon = start + timedelta(days=HORIZON_DAYS)  # 2032-04-04
        expected = [date(y, m, 5) for y in (2031, 2032) for m in range(1, 13)]
        assert await dates(monthly.id) == [d for d in expected if start <= d <= horizon]
        # The user deletes a date far ahead; the job must not bring it back.
        await services.delete_execute_date(actor, monthly.id, date(2031, 12, 5), code_for(secret))
        later = start + timedelta(days=90)  # 2031-05-30: the horizon moves to 2032-07-03
        clock.set_clock(at(later))
        assert await services.extend_execute_dates(business.id) == 1  # the full-date billing is left alone
        assert await services.extend_execute_dates(business.id) == 1
        kept = [
            d
            for d in expected
            if start <= d <= later + timedelta(days=HORIZON_DAYS) and d != date(2031, 12, 5)
        ]
        assert await dates(monthly.id) == kept and kept[-3:] == [date(2032, m, 5) for m in (4, 5, 6)]
        assert await dates(monthly.id, "deleted") == [date(2031, 12, 5)]
        assert await dates(once.id) == [date(2031, 3, 20)]
    finally:
        clock.set_clock(None)


async def test_two_runs_claiming_the_same_dates_at_once_both_succeed(db: str) -> None:
    """Two runs inserting the same claims at the same moment: each claim is inserted once and neither run
    fails (the second can meet the first's claim on its primary key as well as on (billing, date))."""
    actor, business = await billing_business()
    today = common.today()
    for n in range(12):
        await customer_and_billing(
            actor, f"BIL-RACE-{n}", schedule={"schedule_type": "full_date", "dates": [today.isoformat()]}
        )
    for _round in range(15):
        first, second = await asyncio.gather(
            run.claim_due(today, business.id), run.claim_due(today, business.id), return_exceptions=True
        )
        assert not isinstance(first, BaseException) and not isinstance(second, BaseException), (first, second)
        assert first[0] + second[0] == 12
        # The claims go again so the next round races on fresh ones (the dates stay scheduled).
        await sql.execute("DELETE FROM billing_charge WHERE business_id = $1", business.id)
