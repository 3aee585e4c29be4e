"""Signing in: password + TOTP, throttling and lockout, enrolment and reset links, recovery codes,
server-side sessions (rotation, idle and absolute timeouts)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from portal.domains.audit.services import record, record_anonymous
from portal.domains.identity import ratelimit, services
from portal.domains.identity.services import Business, User
from portal.lib import clock, i18n, security, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, RateLimited, ValidationFailed
from portal.lib.forms import has_control_characters
from portal.lib.i18n import N_, gettext
from portal.lib.sql import transaction

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)
FAILURE_WINDOW = timedelta(minutes=15)
DELAY_AFTER = 5  # failures before the progressive delay starts
LOCK_AFTER = 10  # failures within FAILURE_WINDOW that lock the account for LOCK_DURATION
LOCK_DURATION = timedelta(minutes=15)
PASSWORD_MIN, PASSWORD_MAX = 12, 128
RECOVERY_CODES = 10
SESSION_COOKIE = "neraca_session"

_COMMON = Path(__file__).with_name("common_passwords.txt")


class LoginFailed(NeracaError):
    status = 400
    code = "login_failed"
    title_msgid = N_("Sign-in failed")


GENERIC_FAILURE = "The username, password or code is not right."


def _common_passwords() -> frozenset[str]:
    global _COMMON_SET
    if _COMMON_SET is None:
        _COMMON_SET = frozenset(
            line.strip().lower()
            for line in _COMMON.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
    return _COMMON_SET


_COMMON_SET: frozenset[str] | None = None


def password_problems(password: str, username: str = "") -> list[str]:
    """Length 12 to 128, not in the bundled list of common passwords; no composition rules."""
    if "\x00" in password:
        return [gettext("The password contains a NUL character.")]
    if len(password) < PASSWORD_MIN:
        return [gettext("Use at least 12 characters.")]
    if len(password) > PASSWORD_MAX:
        return [gettext("Use at most 128 characters.")]
    lowered = password.lower()
    if lowered in _common_passwords() or (username and lowered == username.lower()):
        return [gettext("This password is too common. Choose another one.")]
    if len(set(password)) < 4:
        return [gettext("This password is too easy to guess. Choose another one.")]
    return []


# ---- login ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


async def _failure_state(username: str) -> tuple[int, datetime | None]:
    """Failures for this username within the window and the time of the latest."""
    since = clock.now() - FAILURE_WINDOW
    row = await sql.fetchrow(
        "SELECT count(*) AS n, max(at) AS latest FROM login_failure WHERE lower(username) = lower($1) "
        "AND at > $2",
        username,
        since,
    )
    return (int(row["n"]), row["latest"]) if row else (0, None)


def _delay_for(failures: int) -> timedelta:
    if failures < DELAY_AFTER:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - DELAY_AFTER), 60))


async def _fail(
    user: Any, username: str, client: ClientInfo, reason: str, message: str = GENERIC_FAILURE
) -> None:
    """Record the failure (its own transaction, so it stays even though the login raises) and raise."""
    async with transaction():
        await sql.execute(
            "INSERT INTO login_failure (user_id, username, ip, at) VALUES ($1, $2, $3, $4)",
            user["id"] if user else None,
            username[:64],
            client.ip,
            clock.now(),
        )
        failures, _ = await _failure_state(username)
        await record_anonymous(
            "user.login_failed",
            f"Failed sign-in for {username[:64]!r}: {reason}",
            business_id=user["business_id"] if user else None,
            ip=client.ip,
            user_agent=client.user_agent,
            actor_name=user["full_name"] if user else username[:64],
            actor_id=user["id"] if user else None,
            refs={"username": username[:64], **({"user_id": user["id"]} if user else {})},
        )
        if user and failures == LOCK_AFTER:
            await sql.execute(
                "UPDATE app_user SET locked_until = $2 WHERE id = $1", user["id"], clock.now() + LOCK_DURATION
            )
            await record_anonymous(
                "user.lockout",
                f"@{user['username']} locked for 15 minutes after {LOCK_AFTER} failed sign-ins",
                business_id=user["business_id"],
                ip=client.ip,
                user_agent=client.user_agent,
                actor_name=user["full_name"],
                actor_id=user["id"],
                refs={"user_id": user["id"], "username": user["username"]},
            )
    raise LoginFailed(gettext(message))


async def authenticate(username: str, password: str, otp: str, client: ClientInfo) -> User:
    """Check username + password + TOTP (or a recovery code). One generic message for any mismatch."""
    await ratelimit.hit("login-ip", client.ip or "unknown")
    errors: list[FieldError] = []
    for name, value, limit in (("username", username, 64), ("password", password, 128), ("otp", otp, 16)):
        if not value:
            errors.append(FieldError(name, gettext("This field is required."), "required"))
        elif len(value) > limit:
            errors.append(FieldError(name, gettext("Too long."), "too_long"))
        elif "\x00" in value or (name != "password" and has_control_characters(value)):
            errors.append(
                FieldError(name, gettext("Remove the control characters from this field."), "control")
            )
    if errors:
        raise ValidationFailed(gettext("Fill in your username, password and code."), errors=errors)
    username = username.strip()
    now = clock.now()
    failures, latest = await _failure_state(username)
    if failures >= LOCK_AFTER and latest is not None and now < latest + LOCK_DURATION:
        retry = int((latest + LOCK_DURATION - now).total_seconds()) + 1
        raise RateLimited(
            gettext("Too many failed attempts. Try again in %(n)d minutes.") % {"n": max(1, retry // 60)},
            retry_after=retry,
        )
    wait = _delay_for(failures)
    if latest is not None and now < latest + wait:
        retry = int((latest + wait - now).total_seconds()) + 1
        raise RateLimited(
            gettext("Too many failed attempts. Wait %(n)d seconds and try again.") % {"n": retry},
            retry_after=retry,
        )
    user = await sql.fetchrow("SELECT * FROM app_user WHERE lower(username) = lower($1)", username)
    if user is None or not user["password_hash"]:
        await security.dummy_verify(password)
        await _fail(user, username, client, "unknown user" if user is None else "no password set")
        raise AssertionError("unreachable")
    if not await security.verify_password(user["password_hash"], password):
        await _fail(user, username, client, "wrong password")
    if user["status"] != "active":
        await _fail(user, username, client, "user is locked")
    if user["locked_until"] is not None and now < user["locked_until"]:
        await _fail(user, username, client, "temporarily locked")
    if not user["totp_confirmed"] or not user["totp_secret"]:
        await _fail(
            user,
            username,
            client,
            "enrolment not finished",
            "Finish enrolment first: follow the link in the e-mail you received.",
        )
    code = otp.strip().replace(" ", "")
    if code.isdigit() and len(code) == 6:
        step = security.totp_match(user["totp_secret"], code, now)
        if step is None:
            await _fail(user, username, client, "wrong code")
        # Atomic: of two requests with the same code, only one moves the last used step forward.
        moved = await sql.fetchval(
            "UPDATE app_user SET totp_last_step = $2 WHERE id = $1 "
            "AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
            user["id"],
            step,
        )
        if moved is None:
            # The generic failure: a message saying the code was used would confirm the password.
            await _fail(user, username, client, "code already used")
    else:
        await ratelimit.hit("recovery-ip", client.ip or "unknown")
        if not await _use_recovery_code(user["id"], code):
            await _fail(user, username, client, "wrong recovery code")
    if security.needs_rehash(user["password_hash"]):
        await sql.execute(
            "UPDATE app_user SET password_hash = $2 WHERE id = $1",
            user["id"],
            await security.hash_password(password),
        )
    await sql.execute(
        "DELETE FROM login_failure WHERE user_id = $1 OR lower(username) = lower($2)", user["id"], username
    )
    result = await services.user_by_id(user["id"])
    assert result is not None
    return result


async def _use_recovery_code(user_id: str, code: str) -> bool:
    normalised = security.normalise_recovery_code(code)
    if len(normalised) != 10:
        return False
    rows = await sql.fetch(
        "SELECT id, code_hash FROM recovery_code WHERE user_id = $1 AND used_at IS NULL", user_id
    )
    for row in rows:
        if await security.verify_password(row["code_hash"], normalised):
            used = await sql.fetchval(
                "UPDATE recovery_code SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id",
                row["id"],
                clock.now(),
            )
            return used is not None
    return False


async def new_recovery_codes(user_id: str) -> list[str]:
    """Replace the user's recovery codes with 10 new ones (stored hashed); returns them once."""
    codes = [security.new_recovery_code() for _ in range(RECOVERY_CODES)]
    hashes = [await security.hash_password(security.normalise_recovery_code(c)) for c in codes]
    await sql.execute("DELETE FROM recovery_code WHERE user_id = $1", user_id)
    async with sql.connection() as conn:
        await conn.executemany(
            "INSERT INTO recovery_code (user_id, code_hash) VALUES ($1, $2)", [(user_id, h) for h in hashes]
        )
    return codes


# ---- sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id_hash: str
    public_id: str
    user: User
    business: Business
    created_at: datetime
    last_seen_at: datetime
    rotate_pending: bool


async def start_session(user: User, client: ClientInfo, *, replaces: str | None = None) -> str:
    """A new session (the old one, if any, is deleted: the id changes at every sign-in)."""
    token = security.new_token()
    now = clock.now()
    async with transaction():
        if replaces:
            await sql.execute("DELETE FROM web_session WHERE id = $1", security.token_hash(replaces))
        await sql.execute(
            "INSERT INTO web_session (id, public_id, user_id, business_id, created_at, last_seen_at, ip, "
            "user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
            security.token_hash(token),
            security.new_token(9),
            user.id,
            user.business_id,
            now,
            client.ip,
            (client.user_agent or "")[:300],
        )
        await record(
            user_actor(user, await services.get_business(user.business_id), client),
            "user.login",
            f"{user.full_name} (@{user.username}) signed in",
            refs={"user_id": user.id, "username": user.username},
        )
    return token


async def load_session(token: str) -> Session | None:
    """The live session for a cookie value, or None (expired sessions are deleted)."""
    if not token or len(token) > 100:
        return None
    id_hash = security.token_hash(token)
    row = await sql.fetchrow("SELECT * FROM web_session WHERE id = $1", id_hash)
    if row is None:
        return None
    now = clock.now()
    if now - row["last_seen_at"] > IDLE_TIMEOUT or now - row["created_at"] > ABSOLUTE_TIMEOUT:
        await sql.execute("DELETE FROM web_session WHERE id = $1", id_hash)
        return None
    user = await services.user_by_id(row["user_id"])
    if user is None or user.status != "active" or not user.enrolled:
        await sql.execute("DELETE FROM web_session WHERE id = $1", id_hash)
        return None
    if now - row["last_seen_at"] > TOUCH_EVERY:
        await sql.execute("UPDATE web_session SET last_seen_at = $2 WHERE id = $1", id_hash, now)
    business = await services.get_business(user.business_id)
    return Session(
        id_hash,
        row["public_id"],
        user,
        business,
        row["created_at"],
        row["last_seen_at"],
        row["rotate_pending"],
    )


async def rotate_session(token: str) -> str | None:
    """Give a session a new id (rights changed); the old id stops working at once."""
    new_token = security.new_token()
    moved = await sql.fetchval(
        "UPDATE web_session SET id = $2, rotate_pending = false WHERE id = $1 RETURNING id",
        security.token_hash(token),
        security.token_hash(new_token),
    )
    return new_token if moved else None


async def end_session(token: str, actor: Actor | None = None) -> None:
    async with transaction():
        deleted = await sql.fetchval(
            "DELETE FROM web_session WHERE id = $1 RETURNING user_id", security.token_hash(token)
        )
        if deleted and actor is not None:
            await record(actor, "user.logout", f"{actor.name} signed out", refs={"user_id": deleted})


async def list_sessions(user_id: str) -> list[dict[str, Any]]:
    rows = await sql.fetch(
        "SELECT public_id, created_at, last_seen_at, ip, user_agent, id FROM web_session WHERE user_id = $1 "
        "ORDER BY last_seen_at DESC",
        user_id,
    )
    return [dict(r) for r in rows]


async def revoke_session(actor: Actor, public_id: str) -> None:
    async with transaction():
        deleted = await sql.fetchval(
            "DELETE FROM web_session WHERE public_id = $1 AND user_id = $2 RETURNING public_id",
            public_id,
            actor.user_id,
        )
        if deleted is None:
            from portal.lib.errors import NotFound

            raise NotFound(gettext("There is no such session."))
        await record(actor, "session.revoked", f"{actor.name} ended a session", refs={"session": public_id})


def user_actor(user: User, business: Business, client: ClientInfo | None = None) -> Actor:
    return Actor(
        business_id=user.business_id,
        rights=user.rights,
        scope_account_id=user.scope_account_id,
        user_id=user.id,
        name=f"{user.full_name} (@{user.username})",
        ip=client.ip if client else None,
        user_agent=client.user_agent if client else None,
        business_mode=business.mode,
        extra={"is_owner": "1"} if user.role == "owner" else {},
    )


# ---- enrolment and reset links -------------------------------------------------------------------


class LinkInvalid(NeracaError):
    status = 410
    code = "link_invalid"
    title_msgid = N_("This link cannot be used")


async def token_user(token: str, purpose: str) -> User:
    """The user of a live one-time link; LinkInvalid when it is unknown, used or expired."""
    if not token or len(token) > 100:
        raise LinkInvalid(gettext("This link is not valid. Ask for a new one."))
    row = await sql.fetchrow(
        "SELECT * FROM user_token WHERE token_hash = $1 AND purpose = $2", security.token_hash(token), purpose
    )
    if row is None:
        raise LinkInvalid(gettext("This link is not valid. Ask for a new one."))
    if row["used_at"] is not None:
        raise LinkInvalid(gettext("This link was already used. Ask for a new one if you need it."))
    if clock.now() >= row["expires_at"]:
        raise LinkInvalid(gettext("This link has expired (links work for 24 hours). Ask for a new one."))
    user = await services.user_by_id(row["user_id"])
    if user is None or user.status != "active":
        raise LinkInvalid(gettext("This link is not valid. Ask for a new one."))
    return user


async def enrolment_secret(user: User) -> str:
    """The pending TOTP secret shown on the enrolment page (kept until confirmed, so a reload shows the
    same QR code)."""
    row = await sql.fetchrow("SELECT totp_secret, totp_confirmed FROM app_user WHERE id = $1", user.id)
    if row and row["totp_secret"] and not row["totp_confirmed"]:
        return str(row["totp_secret"])
    secret = security.new_totp_secret()
    await sql.execute(
        "UPDATE app_user SET totp_secret = $2, totp_confirmed = false WHERE id = $1", user.id, secret
    )
    return secret


async def complete_enrolment(
    token: str, password: str, password_confirm: str, otp: str, client: ClientInfo
) -> tuple[User, list[str]]:
    """Set the password, confirm the authenticator with a code; returns the 10 recovery codes."""
    await ratelimit.hit("enroll-ip", client.ip or "unknown")
    user = await token_user(token, "enroll")
    errors: list[FieldError] = []
    problems = password_problems(password, user.username)
    if problems:
        errors.append(FieldError("password", problems[0], "password"))
    elif password != password_confirm:
        errors.append(
            FieldError("password_confirm", gettext("The two passwords are not the same."), "mismatch")
        )
    row = await sql.fetchrow("SELECT totp_secret FROM app_user WHERE id = $1", user.id)
    secret = row["totp_secret"] if row else None
    step = security.totp_match(secret, otp, clock.now()) if secret else None
    if step is None:
        errors.append(
            FieldError(
                "otp", gettext("The code does not match. Enter the 6 digits your app shows now."), "otp"
            )
        )
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    password_hash = await security.hash_password(password)
    async with transaction():
        used = await sql.fetchval(
            "UPDATE user_token SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL RETURNING user_id",
            security.token_hash(token),
            clock.now(),
        )
        if used is None:
            raise LinkInvalid(gettext("This link was already used. Ask for a new one if you need it."))
        await sql.execute(
            "UPDATE app_user SET password_hash = $2, totp_confirmed = true, totp_last_step = $3, "
            "updated_at = $4 WHERE id = $1",
            user.id,
            password_hash,
            step,
            clock.now(),
        )
        codes = await new_recovery_codes(user.id)
        await services.end_all_sessions(user.id)
        await record_anonymous(
            "user.enrolled",
            f"{user.full_name} (@{user.username}) set a password and an authenticator",
            business_id=user.business_id,
            ip=client.ip,
            user_agent=client.user_agent,
            actor_name=f"{user.full_name} (@{user.username})",
            actor_id=user.id,
            refs={"user_id": user.id, "username": user.username, "full_name": user.full_name},
        )
    fresh = await services.user_by_id(user.id)
    assert fresh is not None
    return fresh, codes


async def complete_reset(
    token: str, password: str, password_confirm: str, otp: str, client: ClientInfo
) -> User:
    """A new password through a reset link, confirmed with the current authenticator code."""
    await ratelimit.hit("reset-ip", client.ip or "unknown")
    user = await token_user(token, "reset")
    errors: list[FieldError] = []
    problems = password_problems(password, user.username)
    if problems:
        errors.append(FieldError("password", problems[0], "password"))
    elif password != password_confirm:
        errors.append(
            FieldError("password_confirm", gettext("The two passwords are not the same."), "mismatch")
        )
    row = await sql.fetchrow("SELECT totp_secret, totp_last_step FROM app_user WHERE id = $1", user.id)
    step = security.totp_match(row["totp_secret"], otp, clock.now()) if row and row["totp_secret"] else None
    if step is None or row is None or (row["totp_last_step"] is not None and step <= row["totp_last_step"]):
        errors.append(FieldError("otp", gettext("The code does not match or was already used."), "otp"))
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    password_hash = await security.hash_password(password)
    async with transaction():
        used = await sql.fetchval(
            "UPDATE user_token SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL RETURNING user_id",
            security.token_hash(token),
            clock.now(),
        )
        if used is None:
            raise LinkInvalid(gettext("This link was already used. Ask for a new one if you need it."))
        await sql.execute(
            "UPDATE app_user SET password_hash = $2, totp_last_step = $3, updated_at = $4 WHERE id = $1",
            user.id,
            password_hash,
            step,
            clock.now(),
        )
        await services.end_all_sessions(user.id)
        await record_anonymous(
            "user.password_changed",
            f"{user.full_name} (@{user.username}) chose a new password through a reset link",
            business_id=user.business_id,
            ip=client.ip,
            user_agent=client.user_agent,
            actor_name=f"{user.full_name} (@{user.username})",
            actor_id=user.id,
            refs={"user_id": user.id, "username": user.username},
        )
    fresh = await services.user_by_id(user.id)
    assert fresh is not None
    return fresh


# ---- own account settings ------------------------------------------------------------------------


async def update_profile(actor: Actor, *, full_name: str, mobile: str, language: str) -> User:
    from portal.lib.forms import clean_mobile, clean_text

    errors: list[FieldError] = []
    full_name = clean_text(errors, "full_name", full_name, max_length=200)
    mobile_e164 = clean_mobile(errors, "mobile", mobile)
    if language not in i18n.LANGUAGE_CODES:
        errors.append(FieldError("language", gettext("Choose English or Bahasa Indonesia.")))
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    async with transaction():
        await sql.execute(
            "UPDATE app_user SET full_name = $2, mobile = $3, language = $4, updated_at = $5 WHERE id = $1",
            actor.user_id,
            full_name,
            mobile_e164,
            language,
            clock.now(),
        )
        await record(
            actor,
            "user.profile_updated",
            f"{actor.name} updated their profile",
            refs={"user_id": actor.user_id or ""},
        )
    user = await services.user_by_id(actor.user_id or "")
    assert user is not None
    return user


async def set_language(actor: Actor, language: str) -> None:
    if language in i18n.LANGUAGE_CODES and actor.user_id:
        await sql.execute("UPDATE app_user SET language = $2 WHERE id = $1", actor.user_id, language)


async def reauthenticate(actor: Actor, password: str, otp: str) -> None:
    """Password + a fresh TOTP code before a sensitive change (e-mail, password, recovery codes)."""
    row = await sql.fetchrow("SELECT * FROM app_user WHERE id = $1", actor.user_id)
    errors: list[FieldError] = []
    ok = row is not None and bool(row["password_hash"])
    ok = ok and row is not None and await security.verify_password(row["password_hash"], password)
    if not ok:
        errors.append(
            FieldError("current_password", gettext("Your current password is not right."), "password")
        )
    step = security.totp_match(row["totp_secret"], otp, clock.now()) if row and row["totp_secret"] else None
    if step is None:
        errors.append(FieldError("otp", gettext("The code does not match."), "otp"))
    if errors:
        await record(
            actor,
            "user.reauth_failed",
            f"{actor.name} failed to confirm their identity",
            refs={"user_id": actor.user_id or ""},
        )
        raise ValidationFailed(gettext("Confirm with your password and a code."), errors=errors)
    moved = await sql.fetchval(
        "UPDATE app_user SET totp_last_step = $2 WHERE id = $1 "
        "AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
        actor.user_id,
        step,
    )
    if moved is None:
        raise ValidationFailed(
            gettext("This code was already used."),
            errors=[
                FieldError("otp", gettext("This code was already used. Wait for the next one."), "otp_reused")
            ],
        )


async def code_required(actor: Actor, amount: int, currency: str) -> bool:
    """Whether moving `amount` in the portal asks for the user's authenticator code: a user moving more
    than the business's `code_above` (IDR; API keys sign their requests instead and are not asked)."""
    if not actor.user_id or currency != "IDR":
        return False
    threshold = (await services.get_business(actor.business_id)).code_above
    return threshold is not None and amount > threshold


async def confirm_with_code(actor: Actor, amount: int, currency: str, otp: str, *, what: str) -> None:
    """Above the business's threshold, the confirm step of moving money needs a fresh authenticator code
    of the user (a code is accepted once); below it nothing is asked. Audited either way it goes."""
    if not await code_required(actor, amount, currency):
        return
    row = await sql.fetchrow(
        "SELECT totp_secret, totp_confirmed FROM app_user WHERE id = $1 AND business_id = $2",
        actor.user_id,
        actor.business_id,
    )
    if row is None or not row["totp_confirmed"] or not row["totp_secret"]:
        raise ValidationFailed(
            N_("Amounts this large need an authenticator code. Set up an authenticator app first."),
            code="otp_setup_required",
            errors=[FieldError("otp", N_("Set up an authenticator app in your profile first."))],
        )
    otp = otp.strip().replace(" ", "")
    if not otp:
        raise ValidationFailed(
            N_("Amounts this large need an authenticator code."),
            code="otp_required",
            errors=[FieldError("otp", N_("Enter the 6-digit code from your authenticator app."))],
        )
    step = security.totp_match(row["totp_secret"], otp, clock.now())
    if step is None:
        await record(
            actor,
            "user.code_refused",
            f"{actor.name} gave a wrong authenticator code to confirm {what}",
            refs={"user_id": actor.user_id or ""},
        )
        raise ValidationFailed(
            N_("The authenticator code does not match."),
            code="otp_invalid",
            errors=[FieldError("otp", N_("The code does not match. Enter the code shown now."))],
        )
    moved = await sql.fetchval(
        "UPDATE app_user SET totp_last_step = $2 WHERE id = $1 AND business_id = $3 "
        "AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
        actor.user_id,
        step,
        actor.business_id,
    )
    if moved is None:
        raise ValidationFailed(
            N_("This authenticator code was already used."),
            code="otp_reused",
            errors=[FieldError("otp", N_("This code was already used. Wait for the next one."))],
        )
    await record(
        actor,
        "user.code_confirmed",
        f"{actor.name} confirmed {what} with an authenticator code",
        refs={"user_id": actor.user_id or ""},
    )


async def change_password(
    actor: Actor,
    *,
    current_password: str,
    otp: str,
    new_password: str,
    confirm: str,
    keep_session: str | None,
) -> None:
    user = await services.user_by_id(actor.user_id or "")
    assert user is not None
    problems = password_problems(new_password, user.username)
    if problems:
        raise ValidationFailed(problems[0], errors=[FieldError("new_password", problems[0], "password")])
    if new_password != confirm:
        raise ValidationFailed(
            gettext("The two passwords are not the same."),
            errors=[
                FieldError("new_password_confirm", gettext("The two passwords are not the same."), "mismatch")
            ],
        )
    await reauthenticate(actor, current_password, otp)
    password_hash = await security.hash_password(new_password)
    async with transaction():
        await sql.execute(
            "UPDATE app_user SET password_hash = $2, updated_at = $3 WHERE id = $1",
            actor.user_id,
            password_hash,
            clock.now(),
        )
        # Every other session ends; this one is rotated by the caller.
        await sql.execute(
            "DELETE FROM web_session WHERE user_id = $1 AND id <> $2",
            actor.user_id,
            security.token_hash(keep_session) if keep_session else "",
        )
        await record(
            actor,
            "user.password_changed",
            f"{actor.name} changed their password",
            refs={"user_id": actor.user_id or ""},
        )


async def change_email(actor: Actor, *, current_password: str, otp: str, email: str) -> None:
    from portal.lib.forms import clean_email

    errors: list[FieldError] = []
    email = clean_email(errors, "email", email)
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    await reauthenticate(actor, current_password, otp)
    async with transaction():
        await sql.execute(
            "UPDATE app_user SET email = $2, updated_at = $3 WHERE id = $1", actor.user_id, email, clock.now()
        )
        await record(
            actor,
            "user.email_changed",
            f"{actor.name} changed their e-mail address",
            refs={"user_id": actor.user_id or ""},
        )


async def regenerate_recovery_codes(actor: Actor, *, current_password: str, otp: str) -> list[str]:
    await reauthenticate(actor, current_password, otp)
    async with transaction():
        codes = await new_recovery_codes(actor.user_id or "")
        await record(
            actor,
            "user.recovery_codes_regenerated",
            f"{actor.name} made new recovery codes",
            refs={"user_id": actor.user_id or ""},
        )
    return codes


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
