"""A test's view of Neraca and the sandbox provider together: control the simulator, query it signed,
send Neraca callbacks signed as the provider signs them, and wait for a condition."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from portal.lib import snap
from portal.settings import get_settings

DISCARD = "http://127.0.0.1:9"  # nothing listens: callbacks of other tests are refused and retried later


@dataclass
class Harness:
    sim_url: str
    neraca_url: str
    http: httpx.AsyncClient

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.request(method, f"{self.sim_url}{path}", json=body)
        assert response.is_success, (path, response.status_code, response.text)
        return response.json() if response.content else None

    async def get(self, path: str, business_id: str) -> dict[str, Any]:
        """A signed status query at the simulator, as Neraca makes it."""
        config = get_settings().provider
        signed = httpx.URL(path, params={"merchant_id": business_id}).raw_path.decode()
        headers = snap.headers(
            config.secret, config.partner_id, f"q-{time.monotonic_ns()}", "GET", signed, b""
        )
        response = await self.http.get(f"{self.sim_url}{signed}", headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def callback(
        self,
        kind: str,
        event_id: str,
        event_type: str,
        business_id: str,
        data: dict[str, Any],
        *,
        secret: str | None = None,
        now: datetime | None = None,
    ) -> httpx.Response:
        """A callback to Neraca signed as the provider signs them (or with another secret / time)."""
        config = get_settings().provider
        path = f"/provider/callbacks/{kind}"
        body = json.dumps(
            {
                "event_id": event_id,
                "type": event_type,
                "occurred_at": (now or datetime.now().astimezone()).isoformat(),
                "merchant_id": business_id,
                "data": data,
            },
            separators=(",", ":"),
        ).encode()
        headers = snap.headers(
            secret or config.callback_secret, config.partner_id, event_id, "POST", path, body, now=now
        )
        return await self.http.post(f"{self.neraca_url}{path}", content=body, headers=headers)

    async def wait_for(self, probe: Callable[[], Awaitable[Any]], expected: Any) -> None:
        """Poll until `await probe()` equals `expected` (a condition, not a time assertion)."""
        deadline = time.monotonic() + 20
        value = None
        while time.monotonic() < deadline:
            value = await probe()
            if value == expected:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"expected {expected!r}, last saw {value!r}")
