"""Billing run test helpers: what the sandbox provider itself holds for a merchant (its own database,
not Neraca's copy), to tell that each card was charged once."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.support.settings import environment

# The session simulator's database (tests/conftest.py starts it), on the test PostgreSQL server.
SESSION_SIMULATOR_DATABASE = "neraca_simulator_session"


async def provider_card_payins(business_id: str) -> list[Any]:
    """Every card pay-in the sandbox provider made for the merchant: reference, card token, status."""
    from portal.db.bootstrap import database_url

    conn = await asyncpg.connect(dsn=database_url(), database=SESSION_SIMULATOR_DATABASE)
    try:
        return list(
            await conn.fetch(
                "SELECT id, reference, card_token, amount, status FROM sim_payins "
                "WHERE merchant_id = $1 AND channel = 'card' ORDER BY reference",
                business_id,
            )
        )
    finally:
        await conn.close()


async def deliver_mail(sink: Any) -> int:
    """Send every queued e-mail now to the test SMTP sink (what the worker's mail job does)."""
    from portal.domains.identity import mail

    with environment(NERACA_SMTP_HOST=sink.host, NERACA_SMTP_PORT=str(sink.port)):
        return await mail.send_pending()
