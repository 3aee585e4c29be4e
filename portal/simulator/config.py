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
    """Read once. Secrets: Neraca's own settings when they define them, else the derived defaults."""
    from portal.settings import get_settings

    settings = get_settings()
    secret = os.environ.get("NERACA_PROVIDER_SECRET") or getattr(settings, "provider_secret", None)
    callback_secret = os.environ.get("NERACA_PROVIDER_CALLBACK_SECRET") or getattr(
        settings, "provider_callback_secret", None
    )
    return SimulatorConfig(
        public_url=(os.environ.get("NERACA_PROVIDER_URL") or DEFAULT_URL).rstrip("/"),
        partner_id=os.environ.get("NERACA_PROVIDER_PARTNER_ID") or "neraca",
        secret=secret or derived_secret(settings.secret_key, "secret"),
        callback_secret=callback_secret or derived_secret(settings.secret_key, "callback-secret"),
        callback_url=(os.environ.get("NERACA_PROVIDER_CALLBACK_URL") or "http://127.0.0.1:8000").rstrip("/"),
        database_name=os.environ.get("NERACA_SIMULATOR_DATABASE") or "neraca_simulator",
        timeout_hold_s=float(os.environ.get("NERACA_SIMULATOR_TIMEOUT_HOLD_S") or 65),
        poll_interval_s=float(os.environ.get("NERACA_SIMULATOR_POLL_S") or 0.2),
    )
