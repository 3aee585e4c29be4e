"""Every SDK resource against the live server, with the blocking and the asyncio client (`sdk` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import neraca
from neraca.models import Account, Balance, Hold, Me, TopUp, Transfer, TransferGroup, Withdrawal

from portal.domains.ledger.invariants import check_all
from tests.support.contract import ALL, Key, collect, first, funded, pages, ref, res


async def test_me(sdk: Any, key: Key) -> None:
    me = await res(sdk.me.retrieve())
    assert isinstance(me, Me)
    assert me.client_id == key.client_id
    assert me.business.id == key.business_id and me.business.mode == "sandbox"
    assert set(me.permissions) == ALL
    assert me.scope_account_id is None


async def test_accounts(sdk: Any) -> None:
    main = await first(sdk.accounts.list(kind="main"))
    created = await res(
        sdk.accounts.create(
            name="Toko Budi",
            kind="partner",
            parent_id=main.id,
            reference="P-001",
            email="budi@example.com",
            phone="+6281234567890",
            metadata={"region": "jkt"},
        )
    )
    assert isinstance(created, Account)
    assert (created.name, created.kind, created.parent_id, created.currency) == (
        "Toko Budi",
        "partner",
        main.id,
        "IDR",
    )
    assert created.status == "active" and created.metadata == {"region": "jkt"}
    assert created.created_at.tzinfo is not None
    assert await res(sdk.accounts.retrieve(created.id)) == created

    for i in range(3):
        await res(sdk.accounts.create(name=f"Division {i}", kind="division", parent_id=main.id))
    children = await collect(sdk.accounts.list(parent_id=main.id, limit=2))  # pages of 2
    assert len(children) == 4 and len({a.id for a in children}) == 4
    assert [len(p.data) for p in await pages(sdk.accounts.list(parent_id=main.id, limit=2))] == [2, 2]
    assert [a.id for a in await collect(sdk.accounts.list(kind="partner"))] == [created.id]
    assert [a.id for a in await collect(sdk.accounts.list(q="Budi"))] == [created.id]

    updated = await res(
        sdk.accounts.update(
            created.id,
            name="Toko Budi Jaya",
            email=None,
            settlement_bank={"bank_code": "014", "account_number": "1234567890", "holder_name": "Budi"},
        )
    )
    assert updated.name == "Toko Budi Jaya" and updated.email is None and updated.phone == "+6281234567890"
    assert updated.settlement_bank is not None and updated.settlement_bank.bank_code == "014"

    frozen = await res(sdk.accounts.freeze(created.id))
    assert frozen.status == "frozen"
    assert [a.id for a in await collect(sdk.accounts.list(status="frozen"))] == [created.id]
    assert (await res(sdk.accounts.unfreeze(created.id))).status == "active"
    assert (await res(sdk.accounts.close(created.id))).status == "closed"


async def test_balances_and_transfers(sdk: Any) -> None:
    main, division, partner = await funded(sdk)
    transfer = await res(
        sdk.transfers.create(
            from_account_id=main.id,
            to_account_id=division.id,
            amount=250_000,
            reference="BUDGET-1",
            description="November budget",
            metadata={"po": "77"},
        )
    )
    assert isinstance(transfer, Transfer)
    assert (transfer.amount, transfer.currency, transfer.kind, transfer.reference) == (
        250_000,
        "IDR",
        "transfer",
        "BUDGET-1",
    )
    assert transfer.description == "November budget" and transfer.group_id is None
    assert await res(sdk.transfers.retrieve(transfer.id)) == transfer

    balance = await res(sdk.balances.retrieve(division.id))
    assert isinstance(balance, Balance)
    assert (balance.available, balance.posted, balance.pending_in, balance.on_hold) == (
        250_000,
        250_000,
        0,
        0,
    )
    assert balance.account_id == division.id and balance.as_of.tzinfo is not None
    rollup = await res(sdk.balances.rollup(main.id))
    assert (rollup.available, rollup.accounts) == (1_000_000, 3)
    past = await res(sdk.balances.retrieve(division.id, as_of=datetime.now(UTC) - timedelta(days=1)))
    assert past.available == 0

    group = await res(
        sdk.transfers.create_group(
            reference="SPLIT-1",
            transfers=[
                {"from_account_id": division.id, "to_account_id": partner.id, "amount": 100_000},
                {
                    "from_account_id": main.id,
                    "to_account_id": partner.id,
                    "amount": 50_000,
                    "description": "bonus",
                },
            ],
        )
    )
    assert isinstance(group, TransferGroup) and group.reference == "SPLIT-1"
    assert [t.amount for t in group.transfers] == [100_000, 50_000]
    assert {t.group_id for t in group.transfers} == {group.id}
    assert (await res(sdk.balances.retrieve(partner.id))).available == 150_000

    listed = await collect(sdk.transfers.list(account_id=division.id, limit=1))
    assert listed[0].id == group.transfers[0].id
    assert {t.id for t in listed} == {transfer.id, group.transfers[0].id}
    by_reference = await collect(sdk.transfers.list(reference="BUDGET-1"))
    assert [t.id for t in by_reference] == [transfer.id]
    window = await collect(
        sdk.transfers.list(
            account_id=division.id,
            created_from=datetime.now(UTC) - timedelta(hours=1),
            created_to=datetime.now(UTC) + timedelta(hours=1),
        )
    )
    assert len(window) == 2
    assert await collect(sdk.transfers.list(created_to=datetime.now(UTC) - timedelta(days=1))) == []
    assert await check_all() == []


async def test_holds(sdk: Any) -> None:
    main, _division, partner = await funded(sdk)
    hold = await res(
        sdk.holds.create(
            from_account_id=main.id,
            to_account_id=partner.id,
            amount=300_000,
            reference=ref("H"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    )
    assert isinstance(hold, Hold) and hold.status == "pending" and hold.posted_amount == 0
    assert hold.expires_at is not None and hold.expires_at.tzinfo is not None
    assert await res(sdk.holds.retrieve(hold.id)) == hold
    source = await res(sdk.balances.retrieve(main.id))
    assert (source.available, source.on_hold) == (700_000, 300_000)
    assert (await res(sdk.balances.retrieve(partner.id))).pending_in == 300_000

    posted = await res(sdk.holds.post(hold.id, amount=200_000))
    assert (posted.status, posted.posted_amount) == ("posted", 200_000)
    assert (await res(sdk.balances.retrieve(partner.id))).available == 200_000
    assert (await res(sdk.balances.retrieve(main.id))).available == 800_000

    whole = await res(
        sdk.holds.create(from_account_id=main.id, to_account_id=partner.id, amount=1, reference=ref("H"))
    )
    assert (await res(sdk.holds.post(whole.id))).posted_amount == 1
    voided = await res(
        sdk.holds.void(
            (
                await res(
                    sdk.holds.create(
                        from_account_id=main.id, to_account_id=partner.id, amount=5, reference=ref("H")
                    )
                )
            ).id
        )
    )
    assert voided.status == "voided"
    assert (await res(sdk.balances.retrieve(main.id))).on_hold == 0
    assert await check_all() == []


async def test_topups(sdk: Any) -> None:
    main = await first(sdk.accounts.list(kind="main"))
    topup = await res(sdk.topups.create(account_id=main.id, amount=1_000_000, reference="TOP-1"))
    assert isinstance(topup, TopUp)
    assert (topup.amount, topup.fee, topup.total, topup.status) == (1_000_000, 6000, 1_006_000, "pending")
    assert topup.payment_instructions is not None and topup.payment_instructions.account_number
    assert topup.paid_at is None and topup.expires_at is not None
    assert await res(sdk.topups.retrieve(topup.id)) == topup
    assert [t.id for t in await collect(sdk.topups.list(status="pending"))] == [topup.id]

    paid = await res(sdk.topups.simulate_payment(topup.id))
    assert paid.status == "paid" and paid.paid_at is not None
    assert [t.id for t in await collect(sdk.topups.list(account_id=main.id, status="paid"))] == [topup.id]
    assert await collect(sdk.topups.list(status="pending")) == []
    assert (await res(sdk.balances.retrieve(main.id))).available == 1_000_000
    [credit] = await collect(sdk.transfers.list(account_id=main.id))
    assert (credit.kind, credit.amount) == ("topup", 1_000_000)

    try:
        await res(sdk.topups.simulate_payment(topup.id))
    except neraca.ConflictError as e:
        assert e.code == "topup_not_pending"
    else:
        raise AssertionError("a paid top-up was paid twice")


async def test_withdrawals(sdk: Any) -> None:
    main, _division, partner = await funded(sdk)
    await res(
        sdk.transfers.create(
            from_account_id=main.id, to_account_id=partner.id, amount=500_000, reference=ref("T")
        )
    )
    await res(
        sdk.accounts.update(
            partner.id,
            settlement_bank={"bank_code": "014", "account_number": "1234567890", "holder_name": "Budi"},
        )
    )
    first_wd = await res(sdk.withdrawals.create(account_id=partner.id, amount=100_000, reference=ref("W")))
    assert isinstance(first_wd, Withdrawal)
    assert (first_wd.amount, first_wd.fee, first_wd.total, first_wd.status) == (
        100_000,
        8000,
        108_000,
        "pending",
    )
    assert first_wd.bank is not None and first_wd.bank.account_number == "1234567890"
    assert await res(sdk.withdrawals.retrieve(first_wd.id)) == first_wd
    assert (await res(sdk.balances.retrieve(partner.id))).available == 500_000 - 108_000

    paid = await res(sdk.withdrawals.mark_paid(first_wd.id))
    assert paid.status == "paid" and paid.completed_at is not None
    second = await res(sdk.withdrawals.create(account_id=partner.id, amount=50_000, reference=ref("W")))
    failed = await res(sdk.withdrawals.mark_failed(second.id, reason="account closed at bank"))
    assert (failed.status, failed.failure_reason) == ("failed", "account closed at bank")
    balance = await res(sdk.balances.retrieve(partner.id))
    assert (balance.available, balance.posted, balance.on_hold) == (392_000, 392_000, 0)

    assert [w.id for w in await collect(sdk.withdrawals.list(account_id=partner.id, status="paid"))] == [
        first_wd.id
    ]
    assert {w.id for w in await collect(sdk.withdrawals.list(limit=1))} == {first_wd.id, second.id}
    assert await check_all() == []
