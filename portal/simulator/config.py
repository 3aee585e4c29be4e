"""The simulator's configuration: the same environment variables Neraca reads, so both sides agree."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8001"


def derived_secret(secret_key: str, purpose: str) -> str:
    """A development default secret derived from NERACA_SECRET_KEY (both sides derive the same one)."""
    return hmac.new(secret_key.encode(), f"neraca-provider:{purpose}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SimulatorConfig:
    public_url: str
    partner_id: str
    secret: str
    callback_secret: str
    callback_url: str
    database_name: str
    # How long a "timeout" rail holds its answer: longer than any caller's timeout.
    timeout_hold_s: float
    poll_interval_s: float

    @property
    def port(self) -> int:
        return urlsplit(self.public_url).port or 8001

    @property
    def host(self) -> str:
        return urlsplit(self.public_url).hostname or "127.0.0.1"


@lru_cache(maxsize=1)
def get_config() -> SimulatorConfig:
    """Read once: Neraca's provider settings when it has them (so both sides agree by construction), else
    the same environment variables with the same defaults."""
    from portal.settings import get_settings

    settings = get_settings()
    provider = getattr(settings, "provider", None)
    if provider is not None:
        url, partner_id = provider.url, provider.partner_id
        secret, callback_secret, callback_url = (
            provider.secret,
            provider.callback_secret,
            provider.callback_url,
        )
    else:
        url = os.environ.get("NERACA_PROVIDER_URL") or DEFAULT_URL
        partner_id = os.environ.get("NERACA_PROVIDER_PARTNER_ID") or "neraca"
        secret = os.environ.get("NERACA_PROVIDER_SECRET") or derived_secret(settings.secret_key, "secret")
        callback_secret = os.environ.get("NERACA_PROVIDER_CALLBACK_SECRET") or derived_secret(
            settings.secret_key, "callback-secret"
        )
        callback_url = os.environ.get("NERACA_PROVIDER_CALLBACK_URL") or "http://127.0.0.1:8000"
    return SimulatorConfig(
        public_url=url.rstrip("/"),
        partner_id=partner_id,
        secret=secret,
        callback_secret=callback_secret,
        callback_url=callback_url.rstrip("/"),
        database_name=os.environ.get("NERACA_SIMULATOR_DATABASE") or "neraca_simulator",
        timeout_hold_s=float(os.environ.get("NERACA_SIMULATOR_TIMEOUT_HOLD_S") or 65),
        poll_interval_s=float(os.environ.get("NERACA_SIMULATOR_POLL_S") or 0.2),
    )
