"""A Request-Id claimed by a process that then died is released within seconds (not after the 5-minute
lease), the retry books exactly once, and a claim of a live process is never taken over."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

from portal.domains.identity import roles, services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.identity import make_business, signed_headers

# The owner: another process that claims the Request-Id through the real claim path, then hangs as a
# request stuck mid-flight would, until the test kills it.
OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from portal.lib.actor import Actor
    from portal.lib.sql import engine

    async def main():
        await engine().start_connection_pool(min_size=1, max_size=2)
        from portal.domains.identity import api_auth
        actor = Actor(business_id=sys.argv[1], rights=frozenset(), api_key_id=sys.argv[2])
        earlier = await api_auth._claim(actor, sys.argv[3], "POST", sys.argv[4], sys.argv[5], count=False)
        assert earlier is None, earlier
        print("claimed", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def start_owner(business_id: str, key_id: str, request_id: str, path: str, body: bytes) -> Any:
    """The owner process, once its claim is made."""
    owner_process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OWNER,
        business_id,
        key_id,
        request_id,
        path,
        hashlib.sha256(body).hexdigest(),
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    assert owner_process.stdout is not None
    line = await asyncio.wait_for(owner_process.stdout.readline(), timeout=60)
    assert line.strip() == b"claimed", line
    return owner_process


async def _funded_accounts(business: Any, owner: Any) -> tuple[str, str]:
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import services as ledger

    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    source = await accounts.create_account(actor, name="Source", kind="partner", parent_id=main)
    target = await accounts.create_account(actor, name="Target", kind="partner", parent_id=main)
    topup = await ledger.create_topup(actor, account_id=source.id, amount=100_000, reference="DEAD-TOP")
    await ledger.simulate_topup_payment(actor, topup.id)
    return source.id, target.id


async def test_a_dead_owners_claim_is_released_and_the_retry_books_once(client: Any, db: str) -> None:
    business, owner = await make_business()
    source, target = await _funded_accounts(business, owner)
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    path = "/api/v1/transfers"
    body = json.dumps(
        {"from_account_id": source, "to_account_id": target, "amount": 2_500, "reference": "DEAD-CLAIM"}
    ).encode()
    request_id = f"dead-{uuid.uuid4().hex}"

    async def send() -> Any:
        headers = signed_headers(key.client_id, secret, "POST", path, body, request_id=request_id)
        return await client.post(path, content=body, headers=headers)

    owner_process = await start_owner(business.id, key.id, request_id, path, body)
    try:
        # While the owner lives, its claim stands: the retry is told to wait, nothing is booked.
        for _ in range(3):
            waiting = await send()
            assert waiting.status_code == 409 and waiting.json()["code"] == "request_in_progress"
            assert waiting.headers["retry-after"] == "1"
        assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'DEAD-CLAIM'") == 0
    finally:
        owner_process.kill()
        await owner_process.wait()

    # The owner is gone: its claim is recognised as abandoned (within a few seconds at most), the retry
    # runs and books once; a further retry is the stored answer.
    answer = await send()
    for _ in range(50):
        if answer.status_code != 409:
            break
        await asyncio.sleep(0.1)
        answer = await send()
    assert answer.status_code == 201, answer.text
    again = await send()
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == answer.json()["id"]
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'DEAD-CLAIM'") == 1


async def test_a_claim_without_an_owner_lock_waits_for_its_lease(client: Any, db: str) -> None:
    """Claims recorded before owners were (owner_lock NULL) keep the lease rule: 409 until it ends."""
    business, owner = await make_business()
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    path = "/api/v1/transfers"
    body = b'{"from_account_id": "acc_x", "to_account_id": "acc_y", "amount": 1, "reference": "LEASE"}'
    await sql.execute(
        "INSERT INTO api_request (api_key_id, request_id, method, target, body_hash, state, lease_until, "
        "created_at) VALUES ($1, 'old-claim', 'POST', $2, $3, 'running', now() + interval '5 minutes', "
        "now())",
        key.id,
        path,
        hashlib.sha256(body).hexdigest(),
    )
    headers = signed_headers(key.client_id, secret, "POST", path, body, request_id="old-claim")
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 409 and response.json()["code"] == "request_in_progress"


async def test_the_sdk_waits_out_a_claim_until_its_owner_dies(app: Any, db: str) -> None:
    """The SDK with its default max_retries: the first attempt finds the Request-Id claimed by a live
    process (as after a client timeout while the server still works), keeps getting 409 past its two
    ordinary retries, and once the owner dies the next retry books the transfer, once."""
    import httpx
    from neraca import AsyncNeraca

    business, owner = await make_business()
    source, target = await _funded_accounts(business, owner)
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    statuses: list[int] = []
    owner_process: Any = None

    class Transport(httpx.AsyncBaseTransport):
        """The app in process; the first request's Request-Id is claimed by the owner process first, and
        the owner is killed once three attempts have been told the request is in progress."""

        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal owner_process
            body = await request.aread()
            if owner_process is None:
                owner_process = await start_owner(
                    business.id, key.id, request.headers["Request-Id"], request.url.path, body
                )
            response = await self.inner.handle_async_request(request)
            statuses.append(response.status_code)
            if statuses.count(409) == 3 and owner_process.returncode is None:
                owner_process.kill()
                await owner_process.wait()
            return response

    async with httpx.AsyncClient(transport=Transport(), base_url="http://127.0.0.1:8000") as http:
        sdk = AsyncNeraca(
            client_id=key.client_id, client_secret=secret, base_url="http://127.0.0.1:8000", http_client=http
        )
        try:
            transfer = await sdk.transfers.create(
                from_account_id=source, to_account_id=target, amount=1_000, reference="SDK-DEAD-CLAIM"
            )
        finally:
            if owner_process is not None and owner_process.returncode is None:
                owner_process.kill()
                await owner_process.wait()
    assert sdk.max_retries == 2 and statuses[:3] == [409, 409, 409] and statuses[-1] == 201
    assert transfer.reference == "SDK-DEAD-CLAIM"
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'SDK-DEAD-CLAIM'") == 1
