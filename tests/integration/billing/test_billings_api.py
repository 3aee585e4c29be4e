"""Card billing over the JSON API: customers and billings, the bad input of each field (a specific 422
with the pointer, nothing written), a card number typed anywhere refused and found nowhere, the hosted
card registration completed by the provider's signed callback, Manage Recurring's actions, isolation."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from portal.domains.billing import services
from portal.domains.billing.services import common
from portal.domains.identity import roles
from portal.domains.provider import services as provider_services
from portal.lib import snap, sql
from portal.settings import get_settings
from tests.support.billing import TEST_CARD
from tests.support.ledger import make_api

ALL = frozenset(roles.ALL_RIGHTS)


async def setup(client: Any) -> tuple[Any, Any]:
    api, business = await make_api(client, ALL)
    made = await api.call("POST", "/api/v1/customers", {"customer_id": "CUST-1", "name": "Budi Santoso"})
    assert made.status_code == 201, made.text
    return api, business


async def create(api: Any, **body: Any) -> Any:
    payload = {"customer_id": "CUST-1", "billing_number": "BIL-1", "amount": 150_000, **body}
    return await api.call("POST", "/api/v1/billings", payload)


async def count(table: str, business_id: str) -> int:
    return int(await sql.fetchval(f"SELECT count(*) FROM {table} WHERE business_id = $1", business_id))


async def test_a_billing_with_a_date_schedule_shows_its_next_execute_dates(client: Any) -> None:
    api, business = await setup(client)
    made = await create(api, schedule={"schedule_type": "date", "day": 28, "months": [2]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["billing_number"] == "BIL-1" and body["type"] == "recurring" and body["status"] == "active"
    assert body["card"]["status"] == "none"
    assert all(d.endswith("-02-28") for d in body["next_execute_dates"]) and body["next_execute_dates"]
    fetched = await api.call("GET", "/api/v1/billings/BIL-1")
    assert fetched.status_code == 200 and fetched.json()["id"] == body["id"]
    found = await api.call("GET", "/api/v1/billings?search=CUST-1")
    assert [b["id"] for b in found.json()["data"]] == [body["id"]]
    logged = await sql.fetchval(
        "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'billing.created'", business.id
    )
    assert logged == 1


@pytest.mark.parametrize(
    ("body", "code", "pointer"),
    [
        (
            {"schedule": {"schedule_type": "date", "day": 29, "months": [1]}},
            "invalid_execute_day",
            "/schedule/day",
        ),
        (
            {"schedule": {"schedule_type": "date", "day": 31, "months": [1]}},
            "invalid_execute_day",
            "/schedule/day",
        ),
        (
            {"schedule": {"schedule_type": "day", "weekdays": [0], "months": []}},
            "no_months",
            "/schedule/months",
        ),
        (
            {"schedule": {"schedule_type": "full_date", "dates": ["2020-01-01"]}},
            "date_in_past",
            "/schedule/dates",
        ),
        ({"billing_number": "BIL 1!"}, "invalid_reference", "/billing_number"),
        ({"amount": 0}, "invalid_amount", "/amount"),
        ({"currency": "USD"}, "unsupported_currency", "/currency"),
        ({"description": "card 4111 1111 1111 1111"}, "card_number_refused", "/description"),
        ({"billing_number": TEST_CARD}, "card_number_refused", "/billing_number"),
    ],
)
async def test_bad_billings_are_refused_with_the_field_and_write_nothing(
    client: Any, body: dict[str, Any], code: str, pointer: str
) -> None:
    api, business = await setup(client)
    refused = await create(api, **body)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == code
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert await count("billing", business.id) == 0
    assert await count("billing_execute_date", business.id) == 0


async def test_duplicate_customer_ids_and_billing_numbers_are_refused(client: Any) -> None:
    api, business = await setup(client)
    again = await api.call("POST", "/api/v1/customers", {"customer_id": "CUST-1", "name": "Other"})
    assert again.status_code == 422 and again.json()["code"] == "duplicate_customer_id"
    assert (await create(api)).status_code == 201
    twice = await create(api, amount=99_000)
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_billing_number"
    assert twice.json()["errors"][0]["pointer"] == "/billing_number"
    assert await count("billing", business.id) == 1
    assert await count("billing_customer", business.id) == 1


async def test_a_card_number_typed_anywhere_is_stored_and_logged_nowhere(
    client: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    api, _ = await setup(client)
    spaced = "4111 1111 1111 1111"
    caplog.set_level(logging.DEBUG)
    attempts = [
        ("POST", "/api/v1/customers", {"customer_id": "CUST-2", "name": f"Budi {spaced}"}),
        ("POST", "/api/v1/customers", {"customer_id": "CUST-3", "name": "Budi", "phone": TEST_CARD}),
        ("PATCH", "/api/v1/customers/CUST-1", {"email": f"{TEST_CARD}@example.com"}),
        (
            "POST",
            "/api/v1/billings",
            {"customer_id": "CUST-1", "billing_number": "B-1", "amount": 1, "description": spaced},
        ),
    ]
    for method, path, body in attempts:
        refused = await api.call(method, path, body)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["code"] == "card_number_refused"
        assert TEST_CARD not in refused.text and "1111 1111" not in refused.text
    # Nothing anywhere in the database holds the number (every text of every row, every table).
    tables = await sql.fetch(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    for table in tables:
        text = await sql.fetchval(
            f"SELECT string_agg(to_jsonb(t)::text, ' ') FROM \"{table['table_name']}\" t"
        )
        digits = "".join(ch for ch in (text or "") if ch.isdigit() or ch == " ")
        assert TEST_CARD not in (text or "") and "4111 1111 1111 1111" not in (text or ""), table[
            "table_name"
        ]
        assert TEST_CARD not in digits.replace(" ", "") or table["table_name"].startswith("ref_")
    # The server's own logs (the test's HTTP client logs its requests too: those lines are left out).
    out, err = capfd.readouterr()
    server_lines = [line for line in (out + err).splitlines() if "[httpx]" not in line]
    server_lines += [r.getMessage() for r in caplog.records if r.name != "httpx"]
    assert not [line for line in server_lines if TEST_CARD in line or spaced in line]


def signed_callback(
    event_id: str, business_id: str, data: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    config = get_settings().provider
    path = "/provider/callbacks/cards"
    body = json.dumps(
        {
            "event_id": event_id,
            "type": "card.registered",
            "occurred_at": "2026-11-29T10:00:00+07:00",
            "merchant_id": business_id,
            "data": data,
        },
        separators=(",", ":"),
    ).encode()
    return path, body, snap.headers(config.callback_secret, config.partner_id, event_id, "POST", path, body)


async def test_the_card_is_registered_by_the_providers_signed_callback_once(client: Any) -> None:
    import httpx

    api, business = await setup(client)
    billing = (await create(api)).json()
    started = await api.call(
        "POST",
        f"/api/v1/billings/{billing['id']}/card-registration",
        {"return_url": "https://shop.example/done"},
    )
    assert started.status_code == 200, started.text
    card = started.json()["card"]
    assert card["status"] == "pending" and card["hosted_url"]
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await http.post(
            card["hosted_url"],
            data={"card_number": TEST_CARD, "expiry": "12/30", "cvv": "123", "holder": "Budi"},
        )
    assert posted.status_code == 303
    # The provider's callback, as it sends it: the registration with the token and the masked parts.
    data = {
        "registration_id": card["registration_id"],
        "status": "registered",
        "token": "tok_test",
        "first6": "411111",
        "last4": "1111",
        "brand": "visa",
        "issuer": "Sandbox Test Bank",
        "expiry_month": 12,
        "expiry_year": 2030,
    }
    event_id = f"ev_{time.monotonic_ns()}"
    path, body, headers = signed_callback(event_id, business.id, data)
    answer = await client.post(path, content=body, headers=headers)
    assert answer.json() == {"status": "accepted"}
    assert await provider_services.apply_event(event_id) == "registered"
    replay = await client.post(path, content=body, headers=headers)
    assert replay.json() == {"status": "ignored", "reason": "replayed"}
    unknown_id = f"ev_{time.monotonic_ns()}"
    path, body, headers = signed_callback(unknown_id, business.id, {**data, "registration_id": "reg_unknown"})
    assert (await client.post(path, content=body, headers=headers)).json()["reason"] == "unknown_reference"
    fetched = (await api.call("GET", f"/api/v1/billings/{billing['id']}")).json()
    assert fetched["card"] == {
        "status": "registered",
        "first6": "411111",
        "last4": "1111",
        "brand": "visa",
        "issuer": "Sandbox Test Bank",
        "expiry_month": 12,
        "expiry_year": 2030,
        "hosted_url": None,
        "registration_id": card["registration_id"],
    }
    events = await sql.fetchval(
        "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'billing.card_registered'", business.id
    )
    assert events == 1


async def test_manage_recurring_actions(client: Any) -> None:
    api, business = await setup(client)
    billing = (
        await create(api, schedule={"schedule_type": "day", "weekdays": [0], "months": list(range(1, 13))})
    ).json()
    first, second = billing["next_execute_dates"][:2]
    bid = billing["id"]
    off = await api.call("POST", f"/api/v1/billings/{bid}/inactivate")
    assert off.status_code == 200 and off.json()["status"] == "inactive"
    on = await api.call("POST", f"/api/v1/billings/{bid}/activate")
    assert on.json()["status"] == "active"
    typed = await api.call("POST", f"/api/v1/billings/{bid}/type", {"type": "reminder"})
    assert typed.json()["type"] == "reminder"
    dropped = await api.call("POST", f"/api/v1/billings/{bid}/execute-dates/delete", {"execute_date": second})
    assert dropped.status_code == 200, dropped.text
    assert (
        second not in dropped.json()["next_execute_dates"] and first in dropped.json()["next_execute_dates"]
    )
    not_a_date = await api.call(
        "POST", f"/api/v1/billings/{bid}/execute-dates/delete", {"execute_date": "2020-01-06"}
    )
    assert not_a_date.status_code == 422 and not_a_date.json()["code"] == "not_an_execute_date"
    moved = await api.call(
        "POST", f"/api/v1/billings/{bid}/schedule", {"schedule_type": "date", "day": 29, "months": [1]}
    )
    assert moved.status_code == 422 and moved.json()["errors"][0]["pointer"] == "/day"
    moved = await api.call(
        "POST", f"/api/v1/billings/{bid}/schedule", {"schedule_type": "date", "day": 3, "months": [4]}
    )
    assert moved.status_code == 200 and all(d[5:] == "04-03" for d in moved.json()["next_execute_dates"])
    gone = await api.call("DELETE", f"/api/v1/billings/{bid}")
    assert gone.status_code == 204
    assert (await api.call("GET", f"/api/v1/billings/{bid}")).status_code == 404
    actions = await sql.fetch(
        "SELECT action FROM activity WHERE business_id = $1 AND action LIKE 'billing.%' ORDER BY seq",
        business.id,
    )
    assert {a["action"] for a in actions} >= {
        "billing.inactivated",
        "billing.activated",
        "billing.type_changed",
        "billing.execute_date_deleted",
        "billing.schedule_changed",
        "billing.deleted",
    }


async def test_a_user_confirms_deleting_an_execute_date_with_a_fresh_code(db: str) -> None:
    from portal.domains.identity.auth import user_actor
    from portal.lib.errors import ValidationFailed
    from tests.support.identity import code_for, enrol, make_business

    business, owner = await make_business()
    secret = await enrol(owner.id)
    actor = user_actor(owner, business)
    await services.create_customer(actor, customer_id="C-1", name="Budi")
    day = common.today() + timedelta(days=3)
    billing = await services.create_billing(
        actor,
        customer_id="C-1",
        billing_number="B-1",
        amount=1000,
        schedule={"schedule_type": "full_date", "dates": [day.isoformat()]},
    )
    with pytest.raises(ValidationFailed) as wrong:
        await services.delete_execute_date(actor, billing.id, day, "000000")
    assert wrong.value.code == "invalid_otp"
    assert (await services.get_billing(actor, billing.id)).next_execute_dates == [day]
    code = code_for(secret)
    done = await services.delete_execute_date(actor, billing.id, day, code)
    assert done.next_execute_dates == []
    with pytest.raises(ValidationFailed):  # the same code twice
        await services.delete_execute_date(actor, billing.id, day, code)


async def test_a_scheduled_single_payment_is_found_and_cancelled_by_its_invoice_number(db: str) -> None:
    """Delete execute date by Invoice Number: the single payment of a processed Batch Transaction file is
    found, cancelled with a fresh code (kept, never charged; an event and an activity entry with the
    actor); a wrong or reused code, an unknown invoice number, a charge already run: specific errors,
    nothing changed. A date of the schedule is found and deleted by its invoice number too."""
    from portal.domains.billing.services import batches
    from portal.domains.identity.auth import user_actor
    from portal.lib.errors import Conflict, ValidationFailed
    from tests.support.billing import register_card
    from tests.support.identity import code_for, enrol, make_business

    business, owner = await make_business()
    secret = await enrol(owner.id)
    actor = user_actor(owner, business)
    await services.create_customer(actor, customer_id="C-S", name="Sari")
    today, later = common.today(), common.today() + timedelta(days=3)
    billing = await services.create_billing(
        actor,
        customer_id="C-S",
        billing_number="B-S",
        amount=1000,
        schedule={"schedule_type": "full_date", "dates": [later.isoformat()]},
    )
    await register_card(actor, billing.id)
    content = (
        "billing_number,invoice_number,amount,execute_date\n"
        f"B-S,INV-S1,25000,{later.isoformat()}\nB-S,INV-S2,15000,{today.isoformat()}\n"
    ).encode()
    await batches.process(actor, await batches.upload(actor, "transaction", "s.csv", content))
    found = (await services.scheduled_dates(actor, invoice_number="INV-S1")).data
    assert [(d.billing_number, d.invoice_number, d.execute_date, d.type, d.amount) for d in found] == [
        ("B-S", "INV-S1", later, "single", 25_000)
    ]
    by_billing = (await services.scheduled_dates(actor, billing_number="B-S")).data
    assert [d.invoice_number for d in by_billing] == ["INV-S2", f"B-S-{later:%Y%m%d}", "INV-S1"]
    assert (await services.scheduled_dates(actor)).data == []

    async def status(invoice: str) -> str:
        return str(
            await sql.fetchval(
                "SELECT status FROM billing_charge WHERE business_id = $1 AND invoice_number = $2",
                business.id,
                invoice,
            )
        )

    with pytest.raises(ValidationFailed) as wrong:
        await services.delete_execute_date(actor, "B-S", None, "000000", invoice_number="INV-S1")
    assert wrong.value.code == "invalid_otp" and await status("INV-S1") == "pending"
    with pytest.raises(ValidationFailed) as unknown:
        await services.delete_execute_date(actor, "B-S", None, code_for(secret), invoice_number="INV-NOPE")
    assert unknown.value.code == "unknown_invoice_number"
    assert unknown.value.errors[0].pointer == "/invoice_number"
    with pytest.raises(ValidationFailed) as other_day:
        await services.delete_execute_date(actor, "B-S", today, code_for(secret), invoice_number="INV-S1")
    assert other_day.value.code == "not_an_execute_date" and await status("INV-S1") == "pending"
    assert (await services.run_billing(business_id=business.id)).paid == 1  # INV-S2, due today
    with pytest.raises(Conflict) as run:
        await services.delete_execute_date(actor, "B-S", None, code_for(secret), invoice_number="INV-S2")
    assert run.value.code == "charge_already_run" and await status("INV-S2") == "paid"
    code = code_for(secret)
    await services.delete_execute_date(actor, "B-S", None, code, invoice_number="INV-S1")
    assert await status("INV-S1") == "cancelled"
    assert (await services.scheduled_dates(actor, invoice_number="INV-S1")).data == []
    # All Report's Payment Status finds it.
    from portal.domains.billing.services import reports

    shown = await reports.report(actor, reports.parse_filter({"status": "cancelled"}))
    assert [r["invoice_number"] for r in shown.rows] == ["INV-S1"]
    with pytest.raises(Conflict) as again:
        await services.delete_execute_date(actor, "B-S", None, code, invoice_number="INV-S1")
    assert again.value.code == "payment_already_cancelled"
    event = await sql.fetchrow(
        "SELECT data FROM event WHERE business_id = $1 AND type = 'billing.charge.cancelled'", business.id
    )
    assert event is not None and json.loads(event["data"])["invoice_number"] == "INV-S1"
    entry = await sql.fetchrow(
        "SELECT actor_id, refs FROM activity WHERE business_id = $1 AND action = 'billing.payment_cancelled'",
        business.id,
    )
    assert entry is not None and entry["actor_id"] == owner.id
    assert json.loads(entry["refs"])["invoice_number"] == "INV-S1"
    # The run on its Execute Date leaves it: cancelled, never charged.
    result = await services.run_billing(business_id=business.id, day=later)
    assert await status("INV-S1") == "cancelled" and result.paid == 1  # the schedule's own date only
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM payment WHERE business_id = $1 AND invoice_number = 'INV-S1'", business.id
        )
        == 0
    )
    # A date of the schedule by its invoice number (here already run by that call: refused).
    with pytest.raises(Conflict):
        await services.delete_execute_date(
            actor, "B-S", None, code_for(secret, steps=1), invoice_number=f"B-S-{later:%Y%m%d}"
        )


async def test_deleting_an_execute_date_by_invoice_number_over_the_api(client: Any) -> None:
    from tests.support.billing_dates import single_payment

    api, business = await setup(client)
    later = common.today() + timedelta(days=4)
    billing = (
        await create(api, schedule={"schedule_type": "full_date", "dates": [later.isoformat()]})
    ).json()
    await single_payment(business.id, billing["id"], "INV-A", later)
    await single_payment(business.id, billing["id"], "INV-PAID", common.today(), status="paid")
    found = await api.call("GET", "/api/v1/execute-dates?invoice_number=INV-A")
    assert found.status_code == 200, found.text
    assert [(d["invoice_number"], d["type"]) for d in found.json()["data"]] == [("INV-A", "single")]
    url = f"/api/v1/billings/{billing['billing_number']}/execute-dates/delete"
    unknown = await api.call("POST", url, {"invoice_number": "INV-NOPE"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/invoice_number"
    paid = await api.call("POST", url, {"invoice_number": "INV-PAID"})
    assert paid.status_code == 409 and paid.json()["code"] == "charge_already_run"
    neither = await api.call("POST", url, {})
    assert neither.status_code == 422 and neither.json()["code"] == "required"
    done = await api.call("POST", url, {"invoice_number": "INV-A"})
    assert done.status_code == 200, done.text
    assert (
        await sql.fetchval(
            "SELECT status FROM billing_charge WHERE business_id = $1 AND invoice_number = 'INV-A'",
            business.id,
        )
        == "cancelled"
    )
    again = await api.call("POST", url, {"invoice_number": "INV-A"})
    assert again.status_code == 409 and again.json()["code"] == "payment_already_cancelled"
    dated = await api.call("POST", url, {"invoice_number": f"{billing['billing_number']}-{later:%Y%m%d}"})
    assert dated.status_code == 200 and dated.json()["next_execute_dates"] == []
    other, _ = await make_api(client, ALL)
    assert (await other.call("GET", "/api/v1/execute-dates?invoice_number=INV-A")).json()["data"] == []


async def test_another_business_never_sees_a_billing(client: Any) -> None:
    api, _ = await setup(client)
    billing = (await create(api)).json()
    other, _ = await make_api(client, ALL)
    for method, path in (
        ("GET", f"/api/v1/billings/{billing['id']}"),
        ("GET", "/api/v1/billings/BIL-1"),
        ("GET", "/api/v1/customers/CUST-1"),
        ("POST", f"/api/v1/billings/{billing['id']}/inactivate"),
    ):
        answer = await other.call(method, path)
        assert answer.status_code == 404, (path, answer.status_code)
    assert (await other.call("GET", "/api/v1/billings")).json()["data"] == []


async def test_a_card_number_typed_into_a_search_is_refused_and_never_echoed(
    client: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    api, _ = await setup(client)
    assert (await create(api)).status_code == 201
    caplog.set_level(logging.DEBUG)
    for path, pointer in (
        (f"/api/v1/billings?search={TEST_CARD}", "/search"),
        ("/api/v1/billings?search=4111-1111-1111-1111", "/search"),
        ("/api/v1/billings?search=4111%201111%201111%201111", "/search"),
        (f"/api/v1/billings?customer_id={TEST_CARD}", "/customer_id"),
        (f"/api/v1/customers?search={TEST_CARD}", "/search"),
        ("/api/v1/customers?search=4111%201111%201111%201111", "/search"),
    ):
        refused = await api.call("GET", path)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["code"] == "card_number_refused"
        assert [e["pointer"] for e in refused.json()["errors"]] == [pointer]
        assert "1111" not in refused.text, path
    # Other digits still search: a Customer ID or a Billing Number is never mistaken for a card.
    found = await api.call("GET", "/api/v1/billings?search=BIL-1")
    assert found.status_code == 200 and [b["billing_number"] for b in found.json()["data"]] == ["BIL-1"]
    assert (await api.call("GET", "/api/v1/customers?search=4111111111111112")).status_code == 200
    out, err = capfd.readouterr()
    server_lines = [line for line in (out + err).splitlines() if "[httpx]" not in line]
    server_lines += [r.getMessage() for r in caplog.records if r.name != "httpx"]
    assert not [
        line for line in server_lines if TEST_CARD in line or "4111 1111" in line or "4111-1111" in line
    ]
