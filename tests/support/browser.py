"""Browser test helpers."""

from __future__ import annotations

from typing import Any


async def csp_violations(page: Any) -> list[str]:
    return list(await page.evaluate("window.__cspViolations || []"))


async def sign_in(page: Any, base: str, username: str, secret: str, password: str | None = None) -> None:
    """Sign in through the login page: username, password (the test users' one unless given) and a fresh
    authenticator code from the user's TOTP secret."""
    import pyotp

    from tests.support.identity import PASSWORD

    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password or PASSWORD)
    await page.fill("#f-otp", pyotp.TOTP(secret).now())
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base}/")
