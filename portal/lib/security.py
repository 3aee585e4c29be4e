"""Security primitives: Argon2id password hashing (off the event loop), TOTP with step replay
protection, one-time tokens, request signatures (docs/api-contract.md) and sealing of API secrets."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes), Argon2id.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_COST = 64 * 1024
ARGON2_PARALLELISM = 4
HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_COST,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

TOTP_STEP_SECONDS = 30
TOTP_WINDOW = 1  # at most ±1 step


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; never raises for a malformed hash."""

    def check() -> bool:
        try:
            return HASHER.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


_DUMMY_HASH: str | None = None


async def dummy_verify(password: str) -> None:
    """Spend the same time as a real verification (unknown users must not answer faster)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = await hash_password(secrets.token_urlsafe(16))
    await verify_password(_DUMMY_HASH, password)


# ---- TOTP ---------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_step(moment: datetime) -> int:
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS)


def totp_match(secret: str, code: str, moment: datetime) -> int | None:
    """The matching time step within ±TOTP_WINDOW of `moment`, else None (the caller refuses used steps)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    current = totp_step(moment)
    found = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # Compare every candidate (no early exit) so timing does not tell which step matched.
        if hmac.compare_digest(totp_code(secret, step), code):
            found = step
    return found


def provisioning_uri(secret: str, username: str, issuer: str = "Neraca") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


# ---- tokens -------------------------------------------------------------------------------------


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_recovery_code() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "").replace("-", "")


# ---- request signatures (docs/api-contract.md) -------------------------------------------------------


def body_digest(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_message(*, client_id: str, request_id: str, timestamp: str, target: str, body: bytes) -> bytes:
    lines = [
        f"Client-Id:{client_id}",
        f"Request-Id:{request_id}",
        f"Request-Timestamp:{timestamp}",
        f"Request-Target:{target}",
    ]
    if body:
        lines.append(f"Digest:{body_digest(body)}")
    return "\n".join(lines).encode("utf-8")


def sign(secret: str, message: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return "HMACSHA256=" + base64.b64encode(mac).decode("ascii")


def signature_valid(secret: str, message: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, message).encode(), signature.strip().encode())


# ---- sealing API secrets --------------------------------------------------------------------------
# HMAC verification needs the secret itself, so it cannot be stored as a one-way hash. It is sealed with
# a keystream derived from NERACA_SECRET_KEY and a per-key nonce: a copy of the database alone does not
# reveal it. The SHA-256 beside it checks the unsealing.


def _keystream(master_key: str, nonce: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(
            master_key.encode(), b"api-secret:" + nonce + counter.to_bytes(4, "big"), hashlib.sha256
        ).digest()
        counter += 1
    return out[:length]


def seal_secret(master_key: str, secret: str) -> str:
    nonce = secrets.token_bytes(16)
    raw = secret.encode("utf-8")
    sealed = bytes(a ^ b for a, b in zip(raw, _keystream(master_key, nonce, len(raw)), strict=True))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal_secret(master_key: str, sealed: str) -> str:
    data = base64.urlsafe_b64decode(sealed.encode("ascii"))
    nonce, body = data[:16], data[16:]
    raw = bytes(a ^ b for a, b in zip(body, _keystream(master_key, nonce, len(body)), strict=True))
    return raw.decode("utf-8")


@functools.lru_cache(maxsize=4096)
def unseal_secret_cached(master_key: str, sealed: str) -> str:
    """unseal_secret, memoised per process. Keyed by the sealed value, so it never outlives a key's
    secret: callers still read the key row on every request (revocation takes effect at once)."""
    return unseal_secret(master_key, sealed)


def secret_fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
