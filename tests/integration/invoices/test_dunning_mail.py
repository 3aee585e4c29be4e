"""Dunning e-mails in the recipient's language, sent through a real SMTP server: the business's default
language (English or Indonesian) for an account's contact address, or the language of the business's user
who owns that address."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import mail
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.invoices import services as invoices
from portal.settings import get_settings
from tests.support.invoices import make_plan, on_day
from tests.support.ledger import make_tree


async def _business(language: str) -> Any:
    """A business in `language` with one unfunded partner billed Rp50.000 a month from 14 July 2026."""
    business, owner, _link = await identity.create_business(
        name=f"Toko {language}",
        owner_username=f"owner-{language}",
        owner_email=f"owner-{language}@example.com",
        default_language=language,
    )
    tree = await make_tree(2, business_id=business.id)
    actor = user_actor(owner, business)
    for i, account_id in enumerate(tree.accounts):
        await accounts.update_account(actor, account_id, {"email": f"partner{i}-{language}@example.com"})
    plan = await make_plan(tree.actor, tree.main, fixed_amount=50_000, tax_percent="0")
    with on_day(date(2026, 7, 14)):
        for account_id in tree.accounts:
            await invoices.subscribe(
                tree.actor, plan_id=plan.id, account_id=account_id, starts_on="2026-07-14"
            )
    return actor


def _sent(sink: Any, to: str) -> tuple[str, str]:
    (message,) = [m for m in sink.messages if m["To"] == to and "INV-" in str(m["Subject"])]
    return str(message["Subject"]), message.get_body(("plain",)).get_content()


async def test_dunning_mail_is_in_the_business_or_the_users_language(
    db: str, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = await _business("en")
    await _business("id")
    # In the English business, the second partner's contact address is a user who reads Indonesian.
    await identity.create_user(
        english,
        username="finance-id",
        full_name="Sari",
        email="partner1-en@example.com",
        role="viewer",
        language="id",
    )
    with on_day(date(2026, 8, 14)):  # the period ends; nothing to collect from: the first attempt fails
        await invoices.run_cycle()
    monkeypatch.setenv("NERACA_SMTP_HOST", smtp_sink.host)
    monkeypatch.setenv("NERACA_SMTP_PORT", str(smtp_sink.port))
    get_settings.cache_clear()
    try:
        assert await mail.send_pending() >= 4  # the four dunning mails and the new user's enrolment
    finally:
        monkeypatch.delenv("NERACA_SMTP_HOST")
        get_settings.cache_clear()

    subject, text = _sent(smtp_sink, "partner0-en@example.com")
    assert subject == "Invoice INV-000001 could not be collected"
    assert "Invoice INV-000001 of IDR 50,000 for Partner 0 could not be collected" in text
    assert "retried on August 17, 2026" not in text and "retried on August 18, 2026" in text
    assert "Tagihan" not in text

    for to, number, name in (
        ("partner0-id@example.com", "INV-000001", "Partner 0"),
        ("partner1-en@example.com", "INV-000002", "Partner 1"),
    ):
        subject, text = _sent(smtp_sink, to)
        assert subject == f"Tagihan {number} tidak dapat ditagih", (to, subject)
        assert f"Tagihan {number} sebesar Rp50.000 untuk {name}" in text, text
        assert "18 Agustus 2026" in text and "Invoice" not in text
