"""Browser: an owner adds a Finance user; the enrolment e-mail arrives over SMTP; the new user enrols in
Chromium, signs in, sees only their menus and the 403 page on /users; the owner finds it all in the
activity log."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.lib import security, sql
from tests.support.browser import csp_violations
from tests.support.identity import PASSWORD, make_business, totp_secret
from tests.support.live_server import live_server

pytestmark = pytest.mark.browser


def code(secret: str, steps: int = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=30 * steps)
    return security.totp_code(secret, security.totp_step(moment))


async def sign_in(page: Any, base: str, username: str, password: str, otp: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await page.fill("#f-otp", otp)
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def test_owner_adds_finance_user_who_enrols_and_signs_in(page: Any, smtp_sink: Any, db: str) -> None:
    _, owner = await make_business(name="Toko E2E")
    owner_secret = await totp_secret(owner.id)
    env = {"NERACA_SMTP_HOST": smtp_sink.host, "NERACA_SMTP_PORT": str(smtp_sink.port)}
    with live_server(env=env, worker=True) as base:
        await sign_in(page, base, owner.username, PASSWORD, code(owner_secret))
        await page.goto(f"{base}/users/new")
        await page.fill("#f-username", "fina-e2e")
        await page.fill("#f-full_name", "Fina Enam")
        await page.fill("#f-email", "fina@example.com")
        await page.fill("#f-mobile", "081234567890")
        await page.select_option("#f-role", "finance")
        await page.click("form[action='/users'] button[type=submit]")
        await page.wait_for_url(re.compile(r".*/users/usr_.*"))

        def mail_to_fina() -> list[Any]:
            return [m for m in smtp_sink.messages if m["To"] == "fina@example.com"]

        for _ in range(300):
            if mail_to_fina():
                break
            await asyncio.sleep(0.2)
        state = [dict(r) for r in await sql.fetch("SELECT to_address, status, last_error FROM email_outbox")]
        assert mail_to_fina(), f"the enrolment e-mail did not arrive: {state}"
        text = mail_to_fina()[0].get_body(preferencelist=("plain",)).get_content()
        link = re.search(r"http://127\.0\.0\.1:\d+/enroll/\S+", text).group(0)

        await page.context.clear_cookies()
        await page.goto(link)
        await page.fill("#f-password", "a long and private passphrase")
        await page.fill("#f-password_confirm", "a long and private passphrase")
        secret = (await page.text_content("#totp-secret") or "").strip()
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert await page.locator("svg.segno").count() == 1
        await page.fill("#f-otp", code(secret))
        await page.click("main button[type=submit]")
        await page.wait_for_selector("#recovery-codes")
        assert await page.locator("#recovery-codes li").count() == 10

        # The next code: the one just used cannot be used again.
        await sign_in(page, base, "fina-e2e", "a long and private passphrase", code(secret, steps=1))
        menus = set(await page.eval_on_selector_all("[data-nav]", "els => els.map(e => e.dataset.nav)"))
        assert "dashboard" in menus and "activity" in menus
        assert not menus & {"users", "developers", "settings"}
        response = await page.goto(f"{base}/users")
        assert response.status == 403
        assert "You do not have access" in await page.content()
        assert await csp_violations(page) == []

        await page.context.clear_cookies()
        await sign_in(page, base, owner.username, PASSWORD, code(owner_secret, steps=1))
        await page.goto(f"{base}/activity")
        await page.fill("#f-data", "Fina Enam")
        await page.click("form[role=search] button[type=submit]")
        await page.wait_for_url(re.compile(r".*data=Fina.*"))
        actions = set(
            await page.eval_on_selector_all("tr[data-action]", "els => els.map(e => e.dataset.action)")
        )
        assert {"user.created", "user.enrolled", "user.login"} <= actions, actions
        assert await csp_violations(page) == []
        assert [e for e in page.console_errors if "403" not in e] == []
