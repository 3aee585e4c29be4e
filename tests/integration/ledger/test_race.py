"""Double spend over real HTTP: an account funded with exactly K×a gets 200 concurrent signed
debits of a; exactly K succeed, the rest get insufficient_funds, the balance ends at 0, no 5xx."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.identity import make_business, signed_headers
from tests.support.ledger import fund

K, A, N = 37, 1_000, 200


async def test_two_hundred_concurrent_debits_exactly_k_succeed(db: str, live_server: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    source = await accounts.create_account(actor, name="Source", kind="partner", parent_id=main)
    sink = await accounts.create_account(actor, name="Sink", kind="partner", parent_id=main)
    await fund(business.id, source.id, K * A)
    key, secret = await identity.create_api_key(
        actor, name="race", permissions=frozenset({"transfers:manage"})
    )

    async def debit(client: httpx.AsyncClient, i: int) -> Any:
        body = json.dumps(
            {
                "from_account_id": source.id,
                "to_account_id": sink.id,
                "amount": A,
                "reference": f"race-{i}-{uuid.uuid4().hex[:6]}",
            }
        ).encode()
        headers = signed_headers(key.client_id, secret, "POST", "/api/v1/transfers", body)
        return await client.post("/api/v1/transfers", content=body, headers=headers)

    limits = httpx.Limits(max_connections=N)
    async with httpx.AsyncClient(base_url=live_server, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(*(debit(client, i) for i in range(N)))
    statuses = [r.status_code for r in responses]
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses.count(201) == K
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 422 and r.json()["code"] == "insufficient_funds" for r in refused)
    assert (
        await sql.fetchval(
            "SELECT credits_posted - debits_posted - debits_pending FROM account WHERE id = $1", source.id
        )
        == 0
    )
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE debit_account_id = $1", source.id) == K
    assert await check_all() == []
