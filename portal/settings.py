"""Settings read once from the environment (every variable is listed in README.md)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def _asset_dir(name: str) -> Path:
    """templates/ or static/: inside the installed package (a wheel ships them there), else the checkout's."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else REPO_ROOT / name


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}.") from None


@dataclass(frozen=True)
class SMTPSettings:
    host: str | None
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    sender: str

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class ProviderSettings:
    """The payment provider Neraca calls (the sandbox simulator in development and tests)."""

    name: str  # NERACA_PROVIDER: "sandbox" is the only adapter today
    url: str
    partner_id: str
    secret: str  # signs Neraca → provider calls
    callback_secret: str  # the provider signs its callbacks with it
    callback_url: str  # where the provider sends callbacks (Neraca's base URL)
    timeout_s: float

    @property
    def live_configured(self) -> bool:
        """True once a real (live) provider adapter is configured; none ships yet."""
        return self.name not in ("", "sandbox")


def _provider_secret(name: str, secret_key: str, purpose: str) -> str:
    """A configured secret, else one derived from the secret key (development: both sides agree)."""
    configured = os.environ.get(name)
    if configured:
        return configured
    return hmac.new(secret_key.encode(), f"neraca-provider:{purpose}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str | None
    data_dir: Path
    host: str
    port: int
    base_url: str
    secret_key: str
    log_level: str
    log_json: bool
    default_language: str
    worker_in_process: bool
    templates_dir: Path
    static_dir: Path
    locale_dir: Path
    smtp: SMTPSettings
    db_pool_size: int
    provider: ProviderSettings
    debug: bool = False
    # Addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed (none by default).
    trusted_proxies: tuple[str, ...] = ()
    # A bearer token that opens /metrics to a scraper elsewhere; without it only local requests may.
    metrics_token: str | None = None
    # Seconds a client has to send its whole request body before it gets 408 and the connection closes.
    body_timeout: float = 30.0
    # PostgreSQL's statement_timeout on a custom report's read-only connection.
    report_timeout_ms: int = 15000
    # Claims the billing run takes and charges per provider call (one chunk).
    billing_run_batch: int = 200
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def cookie_secure(self) -> bool:
        # Secure cookies everywhere except plain http on loopback (local development and tests).
        return not self.base_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))


def _secret_key(data_dir: Path) -> str:
    """NERACA_SECRET_KEY, else a random key kept in the data directory so sessions survive restarts."""
    configured = os.environ.get("NERACA_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise SystemExit("NERACA_SECRET_KEY must be at least 32 characters long.")
        return configured
    key_file = data_dir / "secret_key"
    try:
        if key_file.exists():
            return key_file.read_text().strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
    except PermissionError:
        raise SystemExit(
            f"Cannot read or write {key_file}: the data directory belongs to another user. "
            "Set NERACA_DATA_DIR to a directory you own, or NERACA_SECRET_KEY."
        ) from None


def _trusted_proxies(name: str) -> tuple[str, ...]:
    import ipaddress

    entries = tuple(e for e in (os.environ.get(name) or "").replace(",", " ").split() if e)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SystemExit(
                f"{name}: {entry!r} is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8)."
            ) from None
    return entries


def _positive_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, got {raw!r}.") from None
    if not 0 < value < 86400:
        raise SystemExit(f"{name} must be between 0 and 86400 seconds, got {raw!r}.")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    # A checkout keeps its data beside the code; an installed portal never writes into site-packages.
    default_data_dir = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    data_dir = Path(os.environ.get("NERACA_DATA_DIR") or default_data_dir / ".neraca").resolve()
    host = os.environ.get("NERACA_HOST", "127.0.0.1")
    port = _int("NERACA_PORT", 8000)
    base_url = os.environ.get("NERACA_BASE_URL") or f"http://{host}:{port}"
    secret_key = _secret_key(data_dir)
    return Settings(
        environment=os.environ.get("NERACA_ENV", "development"),
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=data_dir,
        host=host,
        port=port,
        base_url=base_url.rstrip("/"),
        secret_key=secret_key,
        log_level=os.environ.get("NERACA_LOG_LEVEL", "INFO").upper(),
        log_json=_bool("NERACA_LOG_JSON", True),
        default_language=os.environ.get("NERACA_DEFAULT_LANGUAGE", "en"),
        worker_in_process=_bool("NERACA_WORKER_IN_PROCESS", True),
        templates_dir=_asset_dir("templates"),
        static_dir=_asset_dir("static"),
        locale_dir=PACKAGE_DIR / "locale",
        smtp=SMTPSettings(
            host=os.environ.get("NERACA_SMTP_HOST") or None,
            port=_int("NERACA_SMTP_PORT", 25),
            username=os.environ.get("NERACA_SMTP_USERNAME") or None,
            password=os.environ.get("NERACA_SMTP_PASSWORD") or None,
            use_tls=_bool("NERACA_SMTP_TLS", False),
            start_tls=_bool("NERACA_SMTP_STARTTLS", False),
            sender=os.environ.get("NERACA_SMTP_FROM", "Neraca <no-reply@neraca.local>"),
        ),
        db_pool_size=_int("NERACA_DB_POOL_SIZE", 10),
        provider=ProviderSettings(
            name=os.environ.get("NERACA_PROVIDER", "sandbox").strip().lower(),
            url=(os.environ.get("NERACA_PROVIDER_URL") or "http://127.0.0.1:8001").rstrip("/"),
            partner_id=os.environ.get("NERACA_PROVIDER_PARTNER_ID") or "neraca",
            secret=_provider_secret("NERACA_PROVIDER_SECRET", secret_key, "secret"),
            callback_secret=_provider_secret(
                "NERACA_PROVIDER_CALLBACK_SECRET", secret_key, "callback-secret"
            ),
            callback_url=(os.environ.get("NERACA_PROVIDER_CALLBACK_URL") or "http://127.0.0.1:8000").rstrip(
                "/"
            ),
            timeout_s=float(_int("NERACA_PROVIDER_TIMEOUT_MS", 5000)) / 1000,
        ),
        debug=_bool("NERACA_DEBUG", False),
        trusted_proxies=_trusted_proxies("NERACA_TRUSTED_PROXIES"),
        metrics_token=os.environ.get("NERACA_METRICS_TOKEN") or None,
        body_timeout=_positive_float("NERACA_BODY_TIMEOUT", 30.0),
        report_timeout_ms=max(1, _int("NERACA_REPORT_TIMEOUT_MS", 15000)),
        billing_run_batch=max(1, _int("NERACA_BILLING_RUN_BATCH", 200)),
    )
