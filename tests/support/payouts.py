"""Payouts test helpers: accounts the sandbox provider's name inquiry knows."""

from __future__ import annotations

from typing import Any

import httpx

from portal.settings import get_settings

DIRECTORY = {"bank_code": "014", "account_number": "8800112233", "holder_name": "Budi Santoso"}


async def register(account: dict[str, str], status: str = "active") -> None:
    """Put an account in the simulator's directory (as the bank would know it)."""
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{get_settings().provider.url}/control/api/bank-accounts"
        response = await http.post(url, json={**account, "status": status})
        assert response.is_success, response.text


def bank(number: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "bank", "bank_code": "014", "account_number": number, "holder_name": name, **extra}
