"""The crash suite's payout set-up, run in a process of its own with the nodes' environment (as the
cluster's seed is): the business's beneficiary cool-down set to 0 (the Payouts page's setting, so the
beneficiaries the suite adds are usable at once) and one API key with the payouts rights. Prints JSON."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def _setup(business_id: str) -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV

    os.environ[RESOLVED_ENV] = os.environ["DATABASE_URL"]
    from portal.domains.identity import services as identity
    from portal.domains.payouts import services as payouts
    from portal.lib import sql
    from portal.lib.actor import system_actor

    await sql.engine().start_connection_pool(min_size=1, max_size=2)
    try:
        actor = system_actor(business_id)
        await payouts.set_cooldown(actor, 0)
        key, secret = await identity.create_api_key(
            actor, name="crash suite payouts", permissions=frozenset({"payouts:manage", "accounts:view"})
        )
        return {"client_id": key.client_id, "secret": secret}
    finally:
        await sql.engine().close_connection_pool()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_setup(sys.argv[1]))))
