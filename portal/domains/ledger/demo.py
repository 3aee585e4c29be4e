"""Demo data (ORDER 30): three months of history on the demo tree — weekly top-ups into the main account,
allocations to divisions and branches, partner payments, fees, withdrawals (paid and failed) — booked at
their past times, plus a pending top-up and a pending withdrawal for today."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine, services
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.provider.gateway import ProviderError
from portal.lib import clock
from portal.lib.actor import system_actor
from portal.lib.ids import new_id

ORDER = 30


async def load(state: dict[str, Any]) -> None:
    business_id = state["business_id"]
    ids = state["account_ids"]
    actor = system_actor(business_id)
    world = await accounts.system_account_id(business_id, "IDR", "world")
    fees = await accounts.system_account_id(business_id, "IDR", "fees")
    rng = random.Random(20261122)  # noqa: S311 - reproducible demo amounts, not security
    start = clock.now() - timedelta(days=91)
    n = 0

    async def book(day: float, legs: list[Leg], reference: str | None = None) -> None:
        nonlocal n
        n += 1
        await engine.execute(
            Operation(
                business_id,
                legs,
                reference=reference,
                group_id=new_id("grp") if len(legs) > 1 else None,
                internal=True,
                booked_at=start + timedelta(days=day),
            )
        )

    partners = ["Toko Sinar Jaya", "CV Maju Bersama", "Warung Bu Sri", "Kopi Kenangan Dago"]
    branches = {"Jakarta": ["Jakarta Selatan", "Jakarta Barat"], "Bandung": ["Dago", "Buah Batu"]}
    for week in range(13):
        day = week * 7 + 0.4
        amount = rng.randrange(80, 160) * 1_000_000
        await book(
            day,
            [
                Leg(world, ids["main"], amount, kind="topup", description="Top-up (bank transfer)"),
                Leg(world, fees, 6_000, kind="fee", description="Top-up fee"),
            ],
            f"DEMO-TOP-{week:02d}",
        )
        for division, share in (("Jakarta", 0.35), ("Bandung", 0.25)):
            part = int(amount * share) // 1000 * 1000
            await book(
                day + 0.2,
                [Leg(ids["main"], ids[division], part, description="Weekly allocation")],
                f"DEMO-ALLOC-{division[:3].upper()}-{week:02d}",
            )
            for i, branch in enumerate(branches[division]):
                await book(
                    day + 0.3 + rng.random(),
                    [Leg(ids[division], ids[branch], part // 4 // 1000 * 1000, description="Branch float")],
                    f"DEMO-BR-{division[:3].upper()}{i}-{week:02d}",
                )
        for partner in partners:
            source = {"Warung Bu Sri": "Jakarta Selatan", "Kopi Kenangan Dago": "Dago"}.get(partner, "main")
            pay = rng.randrange(500, 4_000) * 1_000
            await book(
                day + 1 + rng.random() * 4,
                [Leg(ids[source], ids[partner], pay, description="Partner settlement")],
                f"DEMO-PAY-{partner[:4].upper()}-{week:02d}",
            )
        if week % 4 == 3:
            await book(
                day + 5.5,
                [
                    Leg(
                        ids["Toko Sinar Jaya"],
                        world,
                        2_000_000,
                        kind="withdrawal",
                        description="Withdrawal to BRI",
                    ),
                    Leg(ids["Toko Sinar Jaya"], fees, 8_000, kind="fee", description="Withdrawal fee"),
                ],
                f"DEMO-WD-{week:02d}",
            )
    # Today: a top-up waiting for payment and a withdrawal waiting for the bank.
    try:
        await services.create_topup(
            actor, account_id=ids["main"], amount=25_000_000, reference="DEMO-TOP-TODAY"
        )
    except ProviderError:  # its virtual account comes from the provider, which may not be running yet
        state.setdefault("lines", []).append(
            "  Pending top-up skipped: the payment provider is not reachable."
        )
    await services.create_withdrawal(
        actor, account_id=ids["CV Maju Bersama"], amount=1_500_000, reference="DEMO-WD-TODAY"
    )
    state.setdefault("lines", []).append(f"  Ledger history: {n} bookings over the last three months.")
