"""`client.customers`, `client.billings`, `client.charges` and `client.billing_batches` against the live
server, with the blocking and the asyncio client: the answers' shapes and values, the refusals' codes
(a card number in a field, a duplicate Billing Number, a Date schedule on day 29, an unknown id), two
pages of every list, a card registered on the provider's hosted page, a file with a bad row, the
charges of a run voided and refunded, POSTs retried after a dropped connection answered once, a call
repeated under the caller's own Request-Id, and a Billing Number holding "/" addressed by its id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import neraca
import pytest
from neraca.models import Billing, BillingBatch, Charge, Customer

from portal.domains.billing import services
from portal.domains.billing.services import common
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.billing import TEST_CARD, advance_provider_clock, pin_provider_clock
from tests.support.contract import Key, collect, pages, res
from tests.support.proxy import DROP_AFTER, FaultyProxy

RIGHTS = frozenset({"billing:view", "billing:manage", "accounts:view"})
HEADER = "billing_number,invoice_number,amount,execute_date"


@pytest.fixture
async def billing_key(key_factory: Callable[..., Awaitable[Key]]) -> Key:
    return await key_factory(RIGHTS)


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, billing_key: Key) -> AsyncIterator[Any]:
    """An SDK client (blocking, then asyncio) of a fresh business with the billing rights."""
    made = billing_key.client(request.param)
    yield made
    await res(made.close())


async def refused(kind: type[neraca.APIStatusError], call: Callable[[], Any]) -> Any:
    """The typed error the call raises (the call is made inside, so both clients raise here)."""
    with pytest.raises(kind) as info:
        await res(call())
    return info.value


def kind_of(client: Any) -> str:
    return "async" if isinstance(client, neraca.AsyncNeraca) else "sync"


def pointers(error: Any) -> list[str]:
    return [e["pointer"] for e in error.body.get("errors", [])]


async def test_customers(client: Any) -> None:
    made = await res(
        client.customers.create(
            customer_id="CUST-1", name="Budi Santoso", email="budi@example.com", phone="081234567890"
        )
    )
    assert isinstance(made, Customer) and made.id.startswith("cus_") and made.raw["object"] == "customer"
    assert (made.customer_id, made.name, made.email, made.phone) == (
        "CUST-1",
        "Budi Santoso",
        "budi@example.com",
        "081234567890",
    )
    assert await res(client.customers.retrieve("CUST-1")) == made
    assert await res(client.customers.retrieve(made.id)) == made
    changed = await res(client.customers.update("CUST-1", name="Budi S.", phone="081299990000"))
    assert (changed.id, changed.name, changed.phone, changed.email) == (
        made.id,
        "Budi S.",
        "081299990000",
        "budi@example.com",
    )

    card = await refused(
        neraca.UnprocessableEntityError,
        lambda: client.customers.create(customer_id="CUST-2", name=f"Budi {TEST_CARD}"),
    )
    assert (card.status_code, card.code, pointers(card)) == (422, "card_number_refused", ["/name"])
    assert TEST_CARD not in str(card.body)
    twice = await refused(
        neraca.UnprocessableEntityError, lambda: client.customers.create(customer_id="CUST-1", name="Other")
    )
    assert (twice.code, pointers(twice)) == ("duplicate_customer_id", ["/customer_id"])

    await res(client.customers.create(customer_id="CUST-2", name="Siti Aminah"))
    await res(client.customers.create(customer_id="CUST-3", name="Agus Salim"))
    two = await pages(client.customers.list(limit=2))
    assert [[c.customer_id for c in page.data] for page in two] == [["CUST-3", "CUST-2"], ["CUST-1"]]
    assert [p.has_more for p in two] == [True, False]
    assert [c.customer_id for c in await collect(client.customers.list(search="CUST-2"))] == ["CUST-2"]

    for call in (
        lambda: client.customers.retrieve("CUST-NONE"),
        lambda: client.customers.update("cus_none", name="X"),
    ):
        missing = await refused(neraca.NotFoundError, call)
        assert (missing.status_code, missing.code) == (404, "not_found")


async def test_billings_and_manage_recurring(client: Any) -> None:
    customer = await res(client.customers.create(customer_id="CUST-B", name="Budi Santoso"))
    made = await res(
        client.billings.create(
            customer_id="CUST-B",
            billing_number="BIL-1",
            amount=150_000,
            description="Langganan",
            schedule_type="date",
            day=28,
            months=[2],
        )
    )
    assert isinstance(made, Billing) and made.id.startswith("bil_") and made.raw["object"] == "billing"
    assert (made.billing_number, made.customer_id, made.customer_ref) == ("BIL-1", customer.id, "CUST-B")
    assert (made.amount, made.currency, made.description, made.type, made.status) == (
        150_000,
        "IDR",
        "Langganan",
        "recurring",
        "active",
    )
    assert made.schedule_type == "date" and made.schedule["day"] == 28 and made.schedule["months"] == [2]
    assert made.next_execute_dates and all((d.month, d.day) == (2, 28) for d in made.next_execute_dates)
    assert made.card.status == "none" and made.card.last4 is None

    create = partial(client.billings.create, customer_id="CUST-B", amount=10_000, schedule_type="date")
    for body, code, pointer in (
        ({"day": 29, "months": [1]}, "invalid_execute_day", "/schedule/day"),
        ({"billing_number": "BIL-1"}, "duplicate_billing_number", "/billing_number"),
        ({"billing_number": TEST_CARD}, "card_number_refused", "/billing_number"),
        ({"description": "kartu 4111 1111 1111 1111"}, "card_number_refused", "/description"),
    ):
        args: dict[str, Any] = {"billing_number": "BIL-X", "day": 28, "months": [1], **body}
        error = await refused(neraca.UnprocessableEntityError, partial(create, **args))
        assert (error.status_code, error.code, pointers(error)) == (422, code, [pointer]), body
    stranger = await refused(
        neraca.NotFoundError, partial(create, billing_number="BIL-Y", customer_id="NONE")
    )
    assert (stranger.code, pointers(stranger)) == ("not_found", ["/customer_id"])
    with pytest.raises(TypeError):  # refused by the SDK before sending: amounts are int minor units
        await res(create(billing_number="BIL-Z", amount="150000"))
    assert [b.billing_number for b in await collect(client.billings.list())] == ["BIL-1"]

    weekly = await res(
        client.billings.create(
            customer_id="CUST-B",
            billing_number="BIL-2",
            amount=20_000,
            type="reminder",
            schedule_type="day",
            weekdays=[0],
            months=list(range(1, 13)),
        )
    )
    assert weekly.type == "reminder" and all(d.weekday() == 0 for d in weekly.next_execute_dates)
    two = await pages(client.billings.list(limit=1))
    assert [[b.billing_number for b in page.data] for page in two] == [["BIL-2"], ["BIL-1"]]
    assert [b.id for b in await collect(client.billings.list(search="BIL-2"))] == [weekly.id]
    assert len(await collect(client.billings.list(customer_id="CUST-B"))) == 2
    assert len(await collect(client.billings.list(customer_id=customer.id))) == 2
    assert await res(client.billings.retrieve("BIL-2")) == await res(client.billings.retrieve(weekly.id))

    today = common.today()
    first, second = today + timedelta(days=10), today + timedelta(days=20)
    moved = await res(
        client.billings.update_schedule(made.id, schedule_type="full_date", dates=[first, second])
    )
    assert (moved.schedule_type, moved.next_execute_dates) == ("full_date", [first, second])
    bad_day = await refused(
        neraca.UnprocessableEntityError,
        lambda: client.billings.update_schedule(made.id, schedule_type="date", day=29, months=[3]),
    )
    assert (bad_day.code, pointers(bad_day)) == ("invalid_execute_day", ["/day"])
    assert (await res(client.billings.retrieve(made.id))).next_execute_dates == [first, second]
    dropped = await res(client.billings.delete_execute_date(made.id, first))
    assert dropped.next_execute_dates == [second]
    gone = await refused(
        neraca.UnprocessableEntityError, lambda: client.billings.delete_execute_date(made.id, first)
    )
    assert (gone.code, pointers(gone)) == ("not_an_execute_date", ["/execute_date"])

    assert (await res(client.billings.inactivate("BIL-1"))).status == "inactive"
    assert (await res(client.billings.activate("BIL-1"))).status == "active"
    assert (await res(client.billings.change_type("BIL-1", "reminder"))).type == "reminder"
    assert (await res(client.billings.change_type("BIL-1", "recurring"))).type == "recurring"

    assert await res(client.billings.delete(weekly.id)) is None
    await refused(neraca.NotFoundError, lambda: client.billings.retrieve(weekly.id))
    await refused(neraca.NotFoundError, lambda: client.billings.delete(weekly.id))
    assert [b.id for b in await collect(client.billings.list())] == [made.id]
    email = await refused(
        neraca.UnprocessableEntityError,
        lambda: client.customers.update("CUST-B", email=f"{TEST_CARD}@example.com"),
    )
    assert (email.code, pointers(email)) == ("card_number_refused", ["/email"])

    # A Registration file: a Date schedule on day 29 is the bad row; fixed, it adds the billing.
    head = "customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates,description"
    rows = ('CUST-B,BIL-3,30000,recurring,date,{},,"1,7",,', "CUST-B,BIL-4,30000,reminder,date,5,,3,,")
    bad = await res(
        client.billing_batches.create(
            kind="registration", file_name="reg.csv", content=csv_of(head, rows[0].format(29), rows[1])
        )
    )
    assert (bad.kind, bad.total_data, bad.invalid_data) == ("registration", 2, 1)
    assert bad.rows is not None and [e["field"] for e in bad.rows[0].errors] == ["schedule_type"]
    assert "1 to 28" in bad.rows[0].errors[0]["message"]  # the schedule's reason, on its first column
    assert bad.rows[1].errors == [] and bad.rows[0].data["months"] == "1,7"
    good = await res(
        client.billing_batches.create(
            kind="registration", file_name="reg.csv", content=csv_of(head, rows[0].format(28), rows[1])
        )
    )
    assert (await res(client.billing_batches.process(good.id))).status == "processed"
    added = await res(client.billings.retrieve("BIL-3"))
    assert (added.schedule_type, added.schedule["day"], added.amount) == ("date", 28, 30_000)
    assert {(d.month, d.day) for d in added.next_execute_dates} <= {(1, 28), (7, 28)}
    assert (await res(client.billings.retrieve("BIL-4"))).type == "reminder"

    # A Billing Number (or Customer ID) may hold "/": no URL path carries it, so it goes by its id.
    slashed = await res(client.billings.create(customer_id="CUST-B", billing_number="BIL/2026/01", amount=1))
    (found,) = await collect(client.billings.list(search="BIL/2026/01"))
    assert found.id == slashed.id
    assert (await res(client.billings.inactivate(found.id))).status == "inactive"
    for call in (
        lambda: client.billings.retrieve("BIL/2026/01"),
        lambda: client.billings.activate("BIL/2026/01"),
        lambda: client.customers.retrieve("CUST/B"),
    ):
        with pytest.raises(ValueError, match="pass the"):
            await res(call())

    for call in (
        lambda: client.billings.retrieve("BIL-NONE"),
        lambda: client.billings.update_schedule("bil_none", schedule_type="date", day=1, months=[1]),
        lambda: client.billings.activate("bil_none"),
        lambda: client.billings.inactivate("bil_none"),
        lambda: client.billings.change_type("bil_none", "reminder"),
        lambda: client.billings.delete("bil_none"),
        lambda: client.billings.delete_execute_date("bil_none", second),
        lambda: client.billings.register_card("bil_none", return_url="https://shop.example/done"),
    ):
        missing = await refused(neraca.NotFoundError, call)
        assert (missing.status_code, missing.code) == (404, "not_found")


async def register_on_hosted_page(client: Any, billing_id: str) -> Billing:
    """The SDK opens the hosted page, the customer's browser posts the card there, the SDK reads it."""
    started = await res(client.billings.register_card(billing_id, return_url="https://shop.example/done"))
    assert started.card.status == "pending" and started.card.hosted_url and started.card.registration_id
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await http.post(
            started.card.hosted_url,
            data={"card_number": TEST_CARD, "expiry": "12/30", "cvv": "123", "holder": "Budi Santoso"},
        )
    assert posted.status_code == 303, posted.text
    return await res(client.billings.refresh_card(billing_id))


def csv_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


async def test_card_batch_charges_void_and_refund(client: Any, billing_key: Key, proxy: FaultyProxy) -> None:
    await pin_provider_clock(billing_key.business_id)
    today = common.today()
    await res(client.customers.create(customer_id="CUST-C", name="Budi Santoso"))
    billing = await res(
        client.billings.create(
            customer_id="CUST-C",
            billing_number="BIL-C",
            amount=100_000,
            schedule_type="full_date",
            dates=[today],
        )
    )
    registered = await register_on_hosted_page(client, billing.id)
    assert (registered.card.status, registered.card.first6, registered.card.last4) == (
        "registered",
        "411111",
        "1111",
    )
    assert registered.card.hosted_url is None and TEST_CARD not in str(registered.raw)

    # A file with a bad row: answered with every row and the reason; it cannot be processed.
    bad = await res(
        client.billing_batches.create(
            kind="transaction",
            file_name="march.csv",
            content=csv_of(HEADER, f"BIL-C,INV-2,40000,{today}", f"BIL-NONE,INV-3,1000,{today}"),
        )
    )
    assert (
        isinstance(bad, BillingBatch) and bad.id.startswith("bat_") and bad.raw["object"] == "billing_batch"
    )
    assert (bad.kind, bad.file_name, bad.status, bad.total_data, bad.invalid_data) == (
        "transaction",
        "march.csv",
        "validated",
        2,
        1,
    )
    assert bad.rows is not None and [r.line for r in bad.rows] == [2, 3]
    assert bad.rows[0].errors == [] and bad.rows[1].data["billing_number"] == "BIL-NONE"
    assert [e["field"] for e in bad.rows[1].errors] == ["billing_number"]
    assert all(e["message"] for e in bad.rows[1].errors)
    assert await res(client.billing_batches.retrieve(bad.id)) == bad
    blocked = await refused(neraca.ConflictError, lambda: client.billing_batches.process(bad.id))
    assert blocked.code == "batch_has_invalid_rows"

    good = await res(
        client.billing_batches.create(
            kind="transaction",
            file_name="march-fixed.csv",
            content=csv_of(HEADER, f"BIL-C,INV-2,40000,{today}", f"BIL-C,INV-3,25000,{today}"),
        )
    )
    assert (good.invalid_data, good.total_amount) == (0, 65_000)
    processed = await res(client.billing_batches.process(good.id))
    assert processed.status == "processed" and processed.processed_at is not None
    two = await pages(client.billing_batches.list(limit=1))
    assert [[b.id for b in page.data] for page in two] == [[good.id], [bad.id]]

    # The run charges the card: the recurring execute date and the file's two single payments.
    ran = await services.run_billing(business_id=billing_key.business_id)
    assert (ran.charged, ran.paid) == (3, 3)
    charges = await collect(client.charges.list(billing_number="BIL-C"))
    assert all(isinstance(c, Charge) and c.raw["object"] == "charge" for c in charges)
    by_amount = {c.amount: c for c in charges}
    assert sorted(by_amount) == [25_000, 40_000, 100_000]
    recurring, single, late = by_amount[100_000], by_amount[40_000], by_amount[25_000]
    assert (recurring.status, recurring.type, recurring.execute_date, recurring.batch_id) == (
        "paid",
        "recurring",
        today,
        None,
    )
    assert (single.type, single.invoice_number, single.batch_id, single.billing_id) == (
        "single",
        "INV-2",
        good.id,
        billing.id,
    )
    assert single.approval_code and single.response_code and single.payment_id
    assert (single.card_first6, single.card_last4, single.refunded_amount) == ("411111", "1111", 0)
    assert await res(client.charges.retrieve(single.id)) == single
    listed = await pages(client.charges.list(status="paid", limit=2))
    assert [len(p.data) for p in listed] == [2, 1]
    assert {c.id for p in listed for c in p.data} == {c.id for c in charges}
    assert [c.id for c in await collect(client.charges.list(invoice_number="INV-3"))] == [late.id]
    assert [c.id for c in await collect(client.charges.list(approval_code=single.approval_code))] == [
        single.id
    ]

    above = await refused(
        neraca.UnprocessableEntityError, lambda: client.charges.refund(single.id, amount=40_001)
    )
    # A void and a refund whose answers are lost after the server booked them: the SDK retries each
    # with the same Request-Id and gets the first answer again (booked once: the refunds are counted below).
    flaky = billing_key.client(kind_of(client), base_url=proxy.url, timeout=5.0)
    try:
        proxy.plan(f"POST /api/v1/charges/{recurring.id}/void", DROP_AFTER)
        voided = await res(flaky.charges.void(recurring.id))
        proxy.plan(f"POST /api/v1/charges/{single.id}/refund", DROP_AFTER, DROP_AFTER)
        part = await res(flaky.charges.refund(single.id, amount=15_000, reason="salah tagih"))
    finally:
        await res(flaky.close())
    assert (voided.id, voided.status, voided.refunded_amount) == (recurring.id, "voided", 0)
    assert (above.code, pointers(above)) == ("refund_exceeds_charge", ["/amount"])
    assert (part.status, part.refunded_amount) == ("partially_refunded", 15_000)
    for route, drops in ((f"{recurring.id}/void", 1), (f"{single.id}/refund", 2)):
        attempts = proxy.requests(f"POST /api/v1/charges/{route}")
        expected = [(DROP_AFTER, False)] + [(DROP_AFTER, True)] * (drops - 1) + [("pass", True)]
        assert [(a.action, a.replayed) for a in attempts] == expected, route
        assert len({a.request_id for a in attempts}) == 1, route
    again = await refused(neraca.ConflictError, lambda: client.charges.void(recurring.id))
    assert (again.status_code, again.code) == (409, "charge_already_voided")
    not_paid = await refused(neraca.ConflictError, lambda: client.charges.refund(recurring.id))
    assert not_paid.code == "charge_not_refundable"
    # The caller's own Request-Id makes the refund safe to repeat (e.g. after its process restarted).
    own = f"refund-{uuid.uuid4().hex}"
    rest = await res(client.charges.refund(single.id, request_id=own))
    assert await res(client.charges.refund(single.id, request_id=own)) == rest
    reused = await refused(
        neraca.UnprocessableEntityError, lambda: client.charges.refund(single.id, amount=1, request_id=own)
    )
    assert reused.code == "idempotency_key_reused"
    assert (rest.status, rest.refunded_amount) == ("refunded", 40_000)
    refunds = await sql.fetch(
        "SELECT r.amount FROM payment_refund r JOIN payment p ON p.id = r.payment_id "
        "WHERE p.business_id = $1 AND p.id = $2 ORDER BY r.created_at",
        billing_key.business_id,
        single.payment_id,
    )
    assert [r["amount"] for r in refunds] == [15_000, 25_000]
    events = await sql.fetch(
        "SELECT type, count(*) AS n FROM event WHERE business_id = $1 "
        "AND type IN ('billing.charge.voided', 'billing.charge.refunded') GROUP BY type ORDER BY type",
        billing_key.business_id,
    )
    assert [(e["type"], e["n"]) for e in events] == [
        ("billing.charge.refunded", 2),
        ("billing.charge.voided", 1),
    ]

    # The next day at the provider: settled, so the void is refused and the charge stays paid.
    await advance_provider_clock(billing_key.business_id, 86_400)
    settled = await refused(neraca.ConflictError, lambda: client.charges.void(late.id))
    assert settled.code == "void_after_settlement"
    assert (await res(client.charges.retrieve(late.id))).status == "paid"
    for call in (
        lambda: client.charges.retrieve("chg_none"),
        lambda: client.charges.void("chg_none"),
        lambda: client.charges.refund("chg_none", amount=1),
        lambda: client.billing_batches.retrieve("bat_none"),
        lambda: client.billing_batches.process("bat_none"),
    ):
        missing = await refused(neraca.NotFoundError, call)
        assert (missing.status_code, missing.code) == (404, "not_found")
    assert await check_all() == []


async def test_creates_retried_after_a_lost_answer_are_written_once(
    billing_key: Key, proxy: FaultyProxy
) -> None:
    flaky = billing_key.client("async", base_url=proxy.url, timeout=5.0)
    try:
        proxy.plan("POST /api/v1/customers", DROP_AFTER)
        customer = await flaky.customers.create(customer_id="CUST-R", name="Budi Santoso")
        proxy.plan("PATCH /api/v1/customers/", DROP_AFTER)
        renamed = await flaky.customers.update("CUST-R", name="Budi S.")
        patched = proxy.requests("PATCH /api/v1/customers/")
        # A PATCH is sent again as a new request (its Request-Id is a nonce): not a replay.
        assert [(a.action, a.replayed) for a in patched] == [(DROP_AFTER, False), ("pass", False)]
        assert len({a.request_id for a in patched}) == 2 and renamed.name == "Budi S."
        proxy.plan("POST /api/v1/billings", DROP_AFTER, DROP_AFTER)
        own = f"billing-{uuid.uuid4().hex}"  # the caller's own Request-Id, kept for every retry
        billing = await flaky.billings.create(
            customer_id="CUST-R", billing_number="BIL-R", amount=5_000, request_id=own
        )
        proxy.plan("POST /api/v1/billing-batches", DROP_AFTER)
        batch = await flaky.billing_batches.create(
            kind="transaction",
            file_name="retry.csv",
            content=csv_of(HEADER, f"BIL-R,INV-R,5000,{common.today() + timedelta(days=1)}"),
        )
        for route, drops in (
            ("POST /api/v1/customers", 1),
            ("POST /api/v1/billings", 2),
            ("POST /api/v1/billing-batches", 1),
        ):
            attempts = proxy.requests(route)
            assert [a.replayed for a in attempts] == [False] + [True] * drops, route
            assert len({a.request_id for a in attempts}) == 1, route
        assert {a.request_id for a in proxy.requests("POST /api/v1/billings")} == {own}
        # The caller repeats the call itself (e.g. after its process restarted): the same billing.
        again = await flaky.billings.create(
            customer_id="CUST-R", billing_number="BIL-R", amount=5_000, request_id=own
        )
        assert again == billing
        assert [c.id for c in await collect(flaky.customers.list())] == [customer.id]
        assert [b.id for b in await collect(flaky.billings.list())] == [billing.id]
        assert [b.id for b in await collect(flaky.billing_batches.list())] == [batch.id]
        assert billing.customer_ref == "CUST-R" and batch.invalid_data == 1 and batch.rows is not None
        # The billing has no card yet: the row's reason says so.
        assert [e["field"] for e in batch.rows[0].errors] == ["billing_number"]
        assert "no registered card" in batch.rows[0].errors[0]["message"]
    finally:
        await flaky.close()
