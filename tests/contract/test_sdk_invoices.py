"""`client.plans`, `client.subscriptions` and `client.invoices` against the live server, with the
blocking and the asyncio client: a plan, a subtree subscribed, usage, the dry run, the cycle, the PDF,
a credit note and a void, and a division's key that sees its own invoices only."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import neraca
import pytest
from neraca.models import Invoice, InvoicePreview, Plan, Subscription

from portal.domains.accounts import services as accounts
from portal.domains.invoices import services as invoices
from tests.support.contract import collect, res
from tests.support.invoices import on_day
from tests.support.ledger import fund

RIGHTS = frozenset({"accounts:manage", "transfers:manage", "invoices:manage"})


async def test_plans_subscriptions_and_invoices(key_factory: Any, tmp_path: Path) -> None:
    key = await key_factory(RIGHTS)
    for kind in ("sync", "async"):
        await _flow(key, kind, tmp_path)


async def _flow(key: Any, kind: str, tmp_path: Path) -> None:
    client = key.client(kind)
    main = await accounts.ensure_business_accounts(key.business_id)
    north = await accounts.create_account(key.owner, name=f"North {kind}", kind="division", parent_id=main)
    south = await accounts.create_account(
        key.owner, name=f"South {kind}", kind="division", parent_id=north.id
    )
    await fund(key.business_id, north.id, 500_000)
    plan = await res(
        client.plans.create(
            name=f"Royalti {kind}", receiving_account_id=main, fixed_amount=100_000, percent="2.5"
        )
    )
    assert isinstance(plan, Plan) and plan.percent == "2.5" and plan.tax_percent == "11"
    with pytest.raises(neraca.UnprocessableEntityError) as over:
        await res(client.plans.create(name="Too much", receiving_account_id=main, percent="101"))
    assert over.value.code == "percent_above_100"
    with on_day(date(2026, 5, 1)):
        subs = await res(
            client.subscriptions.create(
                plan_id=plan.id, account_id=north.id, starts_on=date(2026, 5, 1), include_descendants=True
            )
        )
    assert {s.account_id for s in subs} == {north.id, south.id} and isinstance(subs[0], Subscription)
    north_sub = next(s for s in subs if s.account_id == north.id)
    usage = await res(
        client.invoices.add_usage(north_sub.id, description="Audit", quantity=2, unit_amount=10_000)
    )
    assert usage.amount == 20_000
    preview = await res(client.invoices.preview(north_sub.id))
    assert isinstance(preview, InvoicePreview) and preview.total == 133_200
    assert [s.id for s in await collect(client.subscriptions.list(plan_id=plan.id))] == sorted(
        s.id for s in subs
    )
    with on_day(date(2026, 6, 1)):
        await invoices.run_cycle(business_id=key.business_id)
    listed = await collect(client.invoices.list(subscription_id=north_sub.id))
    (paid,) = listed
    assert isinstance(paid, Invoice) and paid.status == "paid" and paid.total == 133_200
    detail = await res(client.invoices.retrieve(paid.id))
    assert [s.kind for s in detail.steps or []] == ["issued", "collected"]
    pdf = await res(client.invoices.pdf(paid.id, path=tmp_path / f"{kind}.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    credited = await res(client.invoices.credit(paid.id, reason="double billed"))
    assert credited.status == "credited" and credited.credited_amount == 133_200
    (unpaid,) = await collect(client.invoices.list(status="open", account_id=south.id))
    assert unpaid.attempts == 1 and unpaid.next_attempt_on is not None
    scoped = await key.sibling(frozenset({"invoices:view"}), scope=south.id)
    south_client = scoped.client(kind)
    assert [i.id for i in await collect(south_client.invoices.list())] == [unpaid.id]
    with pytest.raises(neraca.NotFoundError):
        await res(south_client.invoices.retrieve(paid.id))
    voided = await res(client.invoices.void(unpaid.id))
    assert voided.status == "void"
    if kind == "sync":
        client.close()
        south_client.close()
    else:
        await client.close()
        await south_client.close()
