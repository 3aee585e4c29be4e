"""Histories that tell the truth and find what people have in hand: a failed withdrawal shows its holds
voided and refund lines (never a posted debit); one sign convention; references found by prefix or
anywhere, in any case, including a withdrawal's own reference; filters, clear-filters and export."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import history
from portal.domains.ledger import services as ledger
from portal.lib.money import format_signed
from tests.support.identity import csrf_from, make_business, signed_in_client
from tests.support.ledger import fund


async def world() -> tuple[Any, Any, Any, Any]:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    sinar = await accounts.create_account(actor, name="Toko Sinar Jaya", kind="partner", parent_id=main)
    bank = {"bank_code": "002", "account_number": "0341010001", "holder_name": "Sinar"}
    await accounts.update_account(actor, sinar.id, {"settlement_bank": bank})
    await fund(business.id, sinar.id, 500_000)
    return business, owner, actor, sinar


def test_one_sign_convention() -> None:
    assert format_signed(5_000, "IDR", "en") == "+IDR 5,000"
    assert format_signed(-5_000, "IDR", "en") == "\u2212IDR 5,000"
    assert format_signed(-5_000, "IDR", "id_ID") == "\u2212Rp5.000"
    assert format_signed(0, "IDR", "en") == "IDR 0"


async def test_a_failed_withdrawal_shows_voided_holds_and_refunds(client: Any, db: str) -> None:
    _business, owner, actor, sinar = await world()
    w = await ledger.create_withdrawal(actor, account_id=sinar.id, amount=100_000, reference="WEB-ABC123")
    await ledger.mark_withdrawal_failed(actor, w.id, reason="Account closed at the bank")
    rows, _ = await ledger.list_transfer_rows(actor, account_id=sinar.id, lines=True)
    found, _names = await history.lines(actor, rows, account_id=sinar.id)
    by = {(x.label, x.status): x.amount for x in found}
    assert by[("Withdrawal", "voided")] == -100_000
    assert by[("Withdrawal refunded", "refunded")] == 100_000
    assert by[("Fee refunded", "refunded")] > 0
    assert not [x for x in found if x.kind == "withdrawal" and x.status == "posted"]
    assert all(x.reference == "WEB-ABC123" for x in found if x.kind in ("withdrawal", "fee"))
    # The lines add up to what happened to the balance: nothing left the account.
    assert sum(x.amount for x in found if x.kind != "topup") == 0
    assert (await accounts.get_account_row(actor, sinar.id)).available == 500_000

    await signed_in_client(client, owner)
    page = await client.get(f"/accounts/{sinar.id}")
    assert 'data-status="refunded"' in page.text and "\u2212IDR 100,000" in page.text
    detail = await client.get(f"/withdrawals/{w.id}")
    assert detail.status_code == 200
    assert "Account closed at the bank" in detail.text and "+IDR 108,000" in detail.text
    line = found[0]
    assert (await client.get(line.href)).status_code == 200


async def test_reference_search_prefix_contains_any_case(client: Any, db: str) -> None:
    business, owner, actor, sinar = await world()
    main = await accounts.ensure_business_accounts(business.id)
    await ledger.create_transfer(
        actor, from_account_id=sinar.id, to_account_id=main, amount=1_000, reference="TOKO-11-NOV"
    )
    await ledger.create_transfer(
        actor, from_account_id=sinar.id, to_account_id=main, amount=2_000, reference="INV-TOKO-12"
    )
    await ledger.create_withdrawal(actor, account_id=sinar.id, amount=3_000, reference="WEB-7F3A")

    async def refs(q: str, **kw: Any) -> list[str]:
        rows, _ = await ledger.list_transfer_rows(actor, q=q, lines=True, **kw)
        return sorted({r["reference"] or r["description"] for r in rows})

    assert await refs("toko-11") == ["TOKO-11-NOV"]  # prefix, any case
    assert await refs("toko", match="contains") == ["INV-TOKO-12", "TOKO-11-NOV"]
    assert await refs("toko") == ["TOKO-11-NOV"]
    found = await refs("web-7f")  # a withdrawal's own reference finds its lines
    assert found and all("WEB-7F3A" in x for x in found)
    assert await refs("50%") == []

    await signed_in_client(client, owner)
    page = await client.get("/transfers?q=toko-12")  # not a prefix: the page falls back to contains
    assert "INV-TOKO-12" in page.text and "TOKO-11-NOV" not in page.text
    none = await client.get("/transfers?q=nothing-here")
    assert "No results for" in none.text and "data-clear-filters" in none.text
    assert "No transfers yet" not in none.text
    bad = await client.get("/transfers?amount_min=abc&start=03-11-2026")
    assert bad.status_code == 422 and "f-amount_min-error" in bad.text and "f-start-error" in bad.text
    kinds = await client.get("/transfers?kind=withdrawal&status=pending")
    assert "WEB-7F3A" in kinds.text and "TOKO-11-NOV" not in kinds.text
    csv = await client.get("/transfers/export.csv?q=toko&match=contains")
    assert csv.status_code == 200
    assert "INV-TOKO-12" in csv.text and "TOKO-11-NOV" in csv.text
    assert "WEB-7F3A" not in csv.text
    xlsx = await client.get("/transfers/export.xlsx?kind=withdrawal")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    token = csrf_from(page.text)
    assert token
