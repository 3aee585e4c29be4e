"""Identity services: businesses, users and their rights, one-time links, API keys.

Every function that reads or changes tenant data takes the acting `Actor` and filters by its business:
another business's user or key is answered with NotFound (404), never Forbidden. A scoped actor's
lookups go through `_scope_clause` as well: a user or key outside the actor's scope is NotFound too, and
business-wide settings need an unscoped actor (`require_unscoped`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from portal.domains.audit.services import record
from portal.domains.identity import roles
from portal.lib import clock, i18n, security, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import N_, Conflict, FieldError, Forbidden, Label, NotFound, ValidationFailed
from portal.lib.forms import clean_email, clean_mobile, clean_text
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.sql import transaction
from portal.settings import get_settings

DEFAULT_FEES = {"topup": 6000, "withdrawal": 8000, "transfer": 0}
FEE_KINDS = tuple(DEFAULT_FEES)
ENROLL_LINK_TTL = timedelta(hours=24)
RESET_LINK_TTL = timedelta(hours=24)
USERNAME_RE = r"^[a-z0-9][a-z0-9._-]{2,63}$"


# ---- businesses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Business:
    id: str
    name: str
    mode: Literal["sandbox", "live"]
    default_language: str
    fees: dict[str, int]
    created_at: datetime | None = None
    # Moving more than this (IDR minor units) in the portal asks for an authenticator code; None: never.
    code_above: int | None = None


def _business(row: Any) -> Business:
    fees = row["fees"]
    if isinstance(fees, str):
        fees = json.loads(fees)
    return Business(
        id=row["id"],
        name=row["name"],
        mode=row["mode"],
        default_language=row["default_language"],
        fees={**DEFAULT_FEES, **{k: int(v) for k, v in fees.items()}},
        created_at=row["created_at"],
        code_above=row.get("code_above"),
    )


async def get_business(business_id: str) -> Business:
    """The business with its mode and fee schedule (IDR minor units); NotFound when there is none."""
    row = await sql.fetchrow("SELECT * FROM business WHERE id = $1", business_id)
    if row is None:
        raise NotFound(gettext("There is no business %(id)s.") % {"id": business_id})
    return _business(row)


async def find_business(id_or_name: str) -> Business:
    row = await sql.fetchrow(
        "SELECT * FROM business WHERE id = $1 OR lower(name) = lower($1) ORDER BY created_at LIMIT 2",
        id_or_name,
    )
    if row is None:
        raise NotFound(gettext("There is no business %(name)r.") % {"name": id_or_name})
    return _business(row)


def validate_business_fields(
    name: str, default_language: str, mode: str, fees: dict[str, str]
) -> tuple[str, dict[str, int], list[FieldError]]:
    errors: list[FieldError] = []
    name = clean_text(errors, "name", name, max_length=200)
    if default_language not in i18n.LANGUAGE_CODES:
        errors.append(FieldError("default_language", gettext("Choose English or Bahasa Indonesia.")))
    if mode not in ("sandbox", "live"):
        errors.append(FieldError("mode", gettext("Choose sandbox or live.")))
    elif mode == "live" and not get_settings().provider.live_configured:
        # Live top-ups need a real payment provider; with none configured nothing could pay them.
        errors.append(
            FieldError("mode", gettext("Live mode needs a live payment provider; none is configured."))
        )
    parsed: dict[str, int] = {}
    for kind in FEE_KINDS:
        raw = (fees.get(kind) or "").strip().replace(".", "").replace(",", "")
        if not raw.isdigit() or len(raw) > 12:
            errors.append(FieldError(f"fee_{kind}", gettext("Enter a whole number of rupiah, 0 or more.")))
        else:
            parsed[kind] = int(raw)
    return name, parsed, errors


def require_unscoped(actor: Actor) -> None:
    """Business-wide settings (name, language, live mode, fees) belong to the whole business: an actor
    scoped to an account subtree may see them but never change them."""
    if actor.scope_account_id is not None:
        raise Forbidden(gettext("Only a user with access to the whole business can change its settings."))


def _code_above(errors: list[FieldError], raw: str) -> int | None:
    raw = raw.strip().replace(".", "").replace(",", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        errors.append(FieldError("code_above", gettext("Enter a whole number of rupiah, or leave it empty.")))
        return None
    return int(raw)


async def update_business(
    actor: Actor,
    *,
    name: str,
    default_language: str,
    mode: str,
    fees: dict[str, str],
    code_above: str | None = None,
) -> Business:
    """Change the business's name, default language, mode, fees and, when given, the amount above which
    moving money asks for an authenticator code ("" for never) (an unscoped actor only)."""
    actor.require("settings", "manage")
    require_unscoped(actor)
    name, parsed, errors = validate_business_fields(name, default_language, mode, fees)
    threshold = _code_above(errors, code_above) if code_above is not None else None
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    async with transaction():
        before = await get_business(actor.business_id)
        await sql.execute(
            "UPDATE business SET name = $2, default_language = $3, mode = $4, fees = $5::jsonb, "
            "updated_at = $6 WHERE id = $1",
            actor.business_id,
            name,
            default_language,
            mode,
            json.dumps(parsed),
            clock.now(),
        )
        if code_above is not None:
            await sql.execute(
                "UPDATE business SET code_above = $2 WHERE id = $1", actor.business_id, threshold
            )
        changes = []
        if before.name != name:
            changes.append(f"name {before.name!r} → {name!r}")
        if before.mode != mode:
            changes.append(f"mode {before.mode} → {mode}")
        if before.default_language != default_language:
            changes.append(f"language {before.default_language} → {default_language}")
        if before.fees != parsed:
            changes.append(f"fees {before.fees} → {parsed}")
        if code_above is not None and before.code_above != threshold:
            changes.append(f"authenticator code above {before.code_above} → {threshold}")
        await record(
            actor,
            "business.updated",
            "Business settings changed: " + ("; ".join(changes) or "no change"),
            refs={"business_id": actor.business_id},
        )
    return await get_business(actor.business_id)


async def create_business(
    *,
    name: str,
    owner_username: str,
    owner_email: str,
    owner_full_name: str = "",
    mode: str = "sandbox",
    default_language: str = "en",
) -> tuple[Business, User, str]:
    """A new business with its first owner; returns the one-time enrolment link (also e-mailed)."""
    errors: list[FieldError] = []
    name = clean_text(errors, "name", name, max_length=200)
    if mode not in ("sandbox", "live"):
        errors.append(FieldError("mode", gettext("Choose sandbox or live.")))
    elif mode == "live" and not get_settings().provider.live_configured:
        errors.append(
            FieldError("mode", gettext("Live mode needs a live payment provider; none is configured."))
        )
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    business_id = new_id("biz")
    async with transaction():
        await sql.execute(
            "INSERT INTO business (id, name, mode, default_language, fees, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $6)",
            business_id,
            name,
            mode,
            default_language,
            json.dumps(DEFAULT_FEES),
            clock.now(),
        )
        system = system_actor(business_id, mode=mode)  # type: ignore[arg-type]
        await record(
            system, "business.created", f"Business {name} created", refs={"business_id": business_id}
        )
        user, link = await _insert_user(
            system,
            username=owner_username,
            full_name=owner_full_name or owner_username,
            email=owner_email,
            mobile="",
            role="owner",
            rights=None,
            scope_account_id=None,
            language=default_language,
            check_escalation=False,
        )
    return await get_business(business_id), user, link


# ---- users ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    business_id: str
    username: str
    full_name: str
    email: str
    mobile: str | None
    role: str
    rights: frozenset[str]
    scope_account_id: str | None
    status: str
    language: str
    enrolled: bool
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def role_label(self) -> str:
        return gettext(roles.ROLE_LABELS.get(self.role, self.role))

    def level(self, menu: str) -> str:
        return roles.level_of(self.rights, menu)


def _user(row: Any) -> User:
    return User(
        id=row["id"],
        business_id=row["business_id"],
        username=row["username"],
        full_name=row["full_name"],
        email=row["email"],
        mobile=row["mobile"],
        role=row["role"],
        rights=frozenset(row["rights"] or []),
        scope_account_id=row["scope_account_id"],
        status=row["status"],
        language=row["language"],
        enrolled=bool(row["totp_confirmed"] and row["password_hash"]),
        created_at=row["created_at"],
    )


def _scope_clause(actor: Actor, args: list[Any]) -> str:
    """The SQL condition keeping a lookup of users or API keys inside `actor`'s scope (appends its
    parameter to `args`). A scoped actor reaches exactly the objects of their own scope — the only scope
    they can give (`_check_grant`) — and nothing business-wide; an unscoped actor reaches all."""
    if actor.scope_account_id is None:
        return "true"
    args.append(actor.scope_account_id)
    return f"scope_account_id = ${len(args)}"


async def get_user(actor: Actor, user_id: str) -> User:
    """A user of the actor's business and scope (404 for anyone else's, and for one out of scope)."""
    args: list[Any] = [user_id, actor.business_id]
    row = await sql.fetchrow(
        f"SELECT * FROM app_user WHERE id = $1 AND business_id = $2 AND {_scope_clause(actor, args)}", *args
    )
    if row is None:
        raise NotFound(gettext("There is no such user."))
    return _user(row)


async def user_by_id(user_id: str) -> User | None:
    row = await sql.fetchrow("SELECT * FROM app_user WHERE id = $1", user_id)
    return _user(row) if row else None


async def list_users(
    actor: Actor, *, q: str = "", role: str = "", status: str = "", limit: int = 200
) -> list[User]:
    actor.require("users", "view")
    clauses = ["business_id = $1"]
    args: list[Any] = [actor.business_id]
    if q:
        args.append("%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        n = len(args)
        clauses.append(
            f"(lower(username) LIKE ${n} OR lower(full_name) LIKE ${n} OR lower(email) LIKE ${n} "
            f"OR coalesce(mobile, '') LIKE ${n})"
        )
    if role:
        args.append(role)
        clauses.append(f"role = ${len(args)}")
    if status:
        args.append(status)
        clauses.append(f"status = ${len(args)}")
    clauses.append(_scope_clause(actor, args))
    args.append(limit)
    rows = await sql.fetch(
        f"SELECT * FROM app_user WHERE {' AND '.join(clauses)} "
        f"ORDER BY lower(full_name), id LIMIT ${len(args)}",
        *args,
    )
    return [_user(r) for r in rows]


def _validate_username(errors: list[FieldError], username: str) -> str:
    import re

    username = clean_text(errors, "username", username, max_length=64, min_length=3)
    valid_so_far = username and not any(e.pointer == "username" for e in errors)
    if valid_so_far and not re.fullmatch(USERNAME_RE, username.lower()):
        message = gettext(
            "Use 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
        )
        errors.append(FieldError("username", message))
    return username.lower()


async def scope_options(actor: Actor) -> list[tuple[str, str]]:
    """The scopes `actor` may give a user or an API key — the users and developers forms' picker.

    An unscoped actor: the whole business ("") and every account of the business, as an indented tree
    (`accounts.list_for_picker`). A scoped actor gives only their own scope (nobody widens or moves a
    scope beyond their own, see `_check_grant`), so their picker holds that one account."""
    import dataclasses

    from portal.domains.accounts import services as accounts

    # Choosing a scope needs the account names in the actor's own scope, even without the accounts menu.
    viewer = dataclasses.replace(actor, rights=actor.rights | {"accounts:view"})
    tree = await accounts.list_for_picker(viewer)
    if actor.scope_account_id is None:
        return [("", gettext("Whole business")), *tree]
    return [(account_id, label) for account_id, label in tree if account_id == actor.scope_account_id]


async def _validate_scope(actor: Actor, errors: list[FieldError], scope_account_id: str | None) -> str | None:
    """None for the whole business; otherwise an account of the actor's business (and scope) from the
    picker. Anything else — malformed, unknown, another business's, out of scope — is a field error."""
    if scope_account_id is None:
        return None
    text = scope_account_id.strip()
    if not text:
        return None
    if text not in {account_id for account_id, _ in await scope_options(actor) if account_id}:
        errors.append(FieldError("scope_account_id", gettext("Choose an account from the list.")))
    return text


def _require_scope_for_role(actor: Actor, errors: list[FieldError], role: str, scope: str | None) -> None:
    """A Partner or Division Manager always has a scope: "Whole business" would show every partner's
    balance. (The demo loader, a system actor, scopes its users once their accounts exist.)"""
    if actor.kind != "system" and role in roles.SCOPED_ROLES and scope is None:
        errors.append(
            FieldError(
                "scope_account_id",
                N_("A %(role)s sees one account and what is under it: choose that account."),
                params={"role": Label(roles.ROLE_LABELS[role])},
            )
        )


def _check_grant(actor: Actor, role: str, rights: frozenset[str], scope_account_id: str | None) -> None:
    """Nobody hands out more than they have: rights within the actor's, scope within the actor's."""
    if actor.kind == "system":
        return
    if role == "owner" and not actor.extra.get("is_owner"):
        raise Forbidden(gettext("Only an owner can make someone an owner."))
    if not roles.covers(actor.rights, rights):
        raise Forbidden(gettext("You cannot give rights you do not have yourself."))
    if actor.scope_account_id is not None and scope_account_id != actor.scope_account_id:
        raise Forbidden(gettext("You can only give access within your own scope."))


async def _insert_user(
    actor: Actor,
    *,
    username: str,
    full_name: str,
    email: str,
    mobile: str,
    role: str,
    rights: frozenset[str] | None,
    scope_account_id: str | None,
    language: str,
    check_escalation: bool = True,
) -> tuple[User, str]:
    from portal.domains.identity import mail

    errors: list[FieldError] = []
    username = _validate_username(errors, username)
    full_name = clean_text(errors, "full_name", full_name, max_length=200)
    email = clean_email(errors, "email", email)
    mobile_e164 = clean_mobile(errors, "mobile", mobile)
    if role not in roles.ROLES:
        errors.append(FieldError("role", gettext("Choose a role from the list.")))
    if language not in i18n.LANGUAGE_CODES:
        errors.append(FieldError("language", gettext("Choose English or Bahasa Indonesia.")))
    scope = await _validate_scope(actor, errors, scope_account_id)
    _require_scope_for_role(actor, errors, role, scope)
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    granted = roles.normalise_rights(rights) if rights is not None else roles.ROLE_PRESETS[role]
    if check_escalation:
        _check_grant(actor, role, granted, scope)
    user_id = new_id("usr")
    now = clock.now()
    exists = await sql.fetchval("SELECT 1 FROM app_user WHERE lower(username) = lower($1)", username)
    if exists:
        raise ValidationFailed(
            gettext("That username is taken."),
            errors=[FieldError("username", gettext("That username is taken. Choose another."), "taken")],
        )
    await sql.execute(
        """INSERT INTO app_user (id, business_id, username, full_name, email, mobile, role, rights,
               scope_account_id, status, language, created_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'active',$10,$11,$11)""",
        user_id,
        actor.business_id,
        username,
        full_name,
        email,
        mobile_e164,
        role,
        sorted(granted),
        scope,
        language,
        now,
    )
    link = await issue_link(user_id, actor.business_id, "enroll")
    business = await sql.fetchval("SELECT name FROM business WHERE id = $1", actor.business_id)
    await mail.queue(
        "enroll",
        to=email,
        language=language,
        business_id=actor.business_id,
        context={
            "full_name": full_name,
            "username": username,
            "link": link,
            "hours": 24,
            # The invitation says who asked and for which business (a person, not "system").
            "business_name": business or "",
            "inviter": actor.name if actor.kind == "user" else "",
        },
    )
    await record(
        actor,
        "user.created",
        f"User {full_name} (@{username}) added as {roles.ROLE_LABELS[role]}",
        refs={"user_id": user_id, "username": username, "full_name": full_name},
    )
    user = await user_by_id(user_id)
    assert user is not None
    return user, link


async def create_user(
    actor: Actor,
    *,
    username: str,
    full_name: str,
    email: str,
    mobile: str = "",
    role: str,
    rights: frozenset[str] | None = None,
    scope_account_id: str | None = None,
    language: str = "en",
) -> User:
    """Add a user; they get a one-time enrolment link by e-mail (never a password)."""
    actor.require("users", "manage")
    async with transaction():
        user, _link = await _insert_user(
            actor,
            username=username,
            full_name=full_name,
            email=email,
            mobile=mobile,
            role=role,
            rights=rights,
            scope_account_id=scope_account_id,
            language=language,
        )
    return user


async def _active_owner_count(business_id: str) -> int:
    return int(
        await sql.fetchval(
            "SELECT count(*) FROM app_user WHERE business_id = $1 AND role = 'owner' AND status = 'active'",
            business_id,
        )
    )


async def _guard_target(actor: Actor, target: User) -> None:
    if target.role == "owner" and not actor.extra.get("is_owner") and actor.kind != "system":
        raise Forbidden(gettext("Only an owner can change an owner."))


async def update_user(
    actor: Actor,
    user_id: str,
    *,
    full_name: str,
    mobile: str,
    role: str,
    rights: frozenset[str],
    scope_account_id: str | None,
) -> User:
    """Edit name, mobile, role, menu access and scope. Rights changes rotate the user's sessions."""
    actor.require("users", "manage")
    errors: list[FieldError] = []
    full_name = clean_text(errors, "full_name", full_name, max_length=200)
    mobile_e164 = clean_mobile(errors, "mobile", mobile)
    if role not in roles.ROLES:
        errors.append(FieldError("role", gettext("Choose a role from the list.")))
    scope = await _validate_scope(actor, errors, scope_account_id)
    _require_scope_for_role(actor, errors, role, scope)
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    granted = roles.normalise_rights(rights)
    async with transaction():
        await sql.fetchrow("SELECT id FROM business WHERE id = $1 FOR UPDATE", actor.business_id)
        target = await get_user(actor, user_id)
        await _guard_target(actor, target)
        if target.id == actor.user_id:
            if not roles.covers(target.rights, granted) or (role == "owner" and target.role != "owner"):
                raise Forbidden(gettext("You cannot raise your own rights."))
            if target.scope_account_id is not None and scope != target.scope_account_id:
                raise Forbidden(gettext("You cannot widen your own scope."))
        else:
            _check_grant(actor, role, granted, scope)
        if target.role == "owner" and role != "owner" and await _active_owner_count(actor.business_id) <= 1:
            raise Conflict(gettext("The last owner cannot be demoted. Make someone else an owner first."))
        rights_changed = granted != target.rights or scope != target.scope_account_id or role != target.role
        await sql.execute(
            """UPDATE app_user SET full_name = $3, mobile = $4, role = $5, rights = $6, scope_account_id = $7,
                   updated_at = $8 WHERE id = $1 AND business_id = $2""",
            user_id,
            actor.business_id,
            full_name,
            mobile_e164,
            role,
            sorted(granted),
            scope,
            clock.now(),
        )
        if rights_changed:
            await sql.execute("UPDATE web_session SET rotate_pending = true WHERE user_id = $1", user_id)
        changes = []
        if full_name != target.full_name:
            changes.append(f"name → {full_name}")
        if mobile_e164 != target.mobile:
            changes.append("mobile changed")
        if role != target.role:
            changes.append(f"role {target.role} → {role}")
        if granted != target.rights:
            added = sorted(granted - target.rights)
            removed = sorted(target.rights - granted)
            changes.append(f"rights +{added} -{removed}")
        if scope != target.scope_account_id:
            changes.append(f"scope {target.scope_account_id or 'business'} → {scope or 'business'}")
        await record(
            actor,
            "user.permissions_changed" if rights_changed else "user.updated",
            f"User {target.full_name} (@{target.username}) changed: " + ("; ".join(changes) or "no change"),
            refs={"user_id": user_id, "username": target.username, "full_name": target.full_name},
        )
    return await get_user(actor, user_id)


async def set_status(actor: Actor, user_id: str, status: Literal["active", "locked"]) -> User:
    """Lock (ends every session of the user) or unlock."""
    actor.require("users", "manage")
    async with transaction():
        await sql.fetchrow("SELECT id FROM business WHERE id = $1 FOR UPDATE", actor.business_id)
        target = await get_user(actor, user_id)
        await _guard_target(actor, target)
        if status == "locked":
            if target.id == actor.user_id:
                raise Conflict(gettext("You cannot lock yourself out."))
            if target.role == "owner" and await _active_owner_count(actor.business_id) <= 1:
                raise Conflict(gettext("The last owner cannot be locked."))
        await sql.execute(
            "UPDATE app_user SET status = $3, locked_until = NULL, updated_at = $4 "
            "WHERE id = $1 AND business_id = $2",
            user_id,
            actor.business_id,
            status,
            clock.now(),
        )
        if status == "locked":
            await end_all_sessions(user_id)
        else:
            await sql.execute("DELETE FROM login_failure WHERE user_id = $1", user_id)
        await record(
            actor,
            "user.locked" if status == "locked" else "user.unlocked",
            f"User {target.full_name} (@{target.username}) {'locked' if status == 'locked' else 'unlocked'}",
            refs={"user_id": user_id, "username": target.username, "full_name": target.full_name},
        )
    return await get_user(actor, user_id)


async def reset_password(actor: Actor, user_id: str) -> None:
    """E-mail a one-time link to choose a new password; the old one stops working and sessions end."""
    from portal.domains.identity import mail

    actor.require("users", "manage")
    async with transaction():
        target = await get_user(actor, user_id)
        await _guard_target(actor, target)
        if not target.enrolled:
            raise Conflict(gettext("This user has not enrolled yet: send a new enrolment link instead."))
        await sql.execute(
            "UPDATE app_user SET password_hash = NULL, updated_at = $2 WHERE id = $1", user_id, clock.now()
        )
        await end_all_sessions(user_id)
        link = await issue_link(user_id, actor.business_id, "reset")
        await mail.queue(
            "reset_password",
            to=target.email,
            language=target.language,
            business_id=actor.business_id,
            context={"full_name": target.full_name, "username": target.username, "link": link, "hours": 24},
        )
        await record(
            actor,
            "user.password_reset",
            f"Password of {target.full_name} (@{target.username}) reset; a link was e-mailed",
            refs={"user_id": user_id, "username": target.username, "full_name": target.full_name},
        )


async def reset_authenticator(actor: Actor, user_id: str) -> None:
    """Forget the user's authenticator and recovery codes; they re-enrol through an e-mailed link.

    Replaces the reference's "show secret key", which would expose one person's second factor to another.
    """
    from portal.domains.identity import mail

    actor.require("users", "manage")
    async with transaction():
        target = await get_user(actor, user_id)
        await _guard_target(actor, target)
        await sql.execute(
            "UPDATE app_user SET totp_secret = NULL, totp_confirmed = false, totp_last_step = NULL, "
            "password_hash = NULL, updated_at = $2 WHERE id = $1",
            user_id,
            clock.now(),
        )
        await sql.execute("DELETE FROM recovery_code WHERE user_id = $1", user_id)
        await end_all_sessions(user_id)
        link = await issue_link(user_id, actor.business_id, "enroll")
        await mail.queue(
            "enroll",
            to=target.email,
            language=target.language,
            business_id=actor.business_id,
            context={"full_name": target.full_name, "username": target.username, "link": link, "hours": 24},
        )
        await record(
            actor,
            "user.authenticator_reset",
            f"Authenticator of {target.full_name} (@{target.username}) reset; an enrolment link was e-mailed",
            refs={"user_id": user_id, "username": target.username, "full_name": target.full_name},
        )


async def resend_enrolment(actor: Actor, user_id: str) -> None:
    from portal.domains.identity import mail

    actor.require("users", "manage")
    async with transaction():
        target = await get_user(actor, user_id)
        await _guard_target(actor, target)
        if target.enrolled:
            raise Conflict(gettext("This user has already enrolled."))
        link = await issue_link(user_id, actor.business_id, "enroll")
        await mail.queue(
            "enroll",
            to=target.email,
            language=target.language,
            business_id=actor.business_id,
            context={"full_name": target.full_name, "username": target.username, "link": link, "hours": 24},
        )
        await record(
            actor,
            "user.enrolment_sent",
            f"New enrolment link e-mailed to {target.full_name} (@{target.username})",
            refs={"user_id": user_id, "username": target.username, "full_name": target.full_name},
        )


async def set_user_scope(business_id: str, username: str, scope_account_id: str) -> None:
    """Set a user's account-subtree scope (used by the accounts demo loader and operators)."""
    async with transaction():
        row = await sql.fetchrow(
            "UPDATE app_user SET scope_account_id = $3, updated_at = $4 "
            "WHERE business_id = $1 AND lower(username) = lower($2) RETURNING id, full_name",
            business_id,
            username,
            scope_account_id,
            clock.now(),
        )
        if row is None:
            raise NotFound(
                gettext("There is no user %(username)s in %(business)s.")
                % {"username": username, "business": business_id}
            )
        await sql.execute("UPDATE web_session SET rotate_pending = true WHERE user_id = $1", row["id"])
        await record(
            system_actor(business_id),
            "user.permissions_changed",
            f"Scope of @{username} set to account {scope_account_id}",
            refs={"user_id": row["id"], "username": username, "account_id": scope_account_id},
        )


# ---- one-time links ------------------------------------------------------------------------------


async def issue_link(user_id: str, business_id: str, purpose: Literal["enroll", "reset"]) -> str:
    """A fresh one-time link; earlier unused links of the same purpose stop working."""
    token = security.new_token()
    now = clock.now()
    ttl = ENROLL_LINK_TTL if purpose == "enroll" else RESET_LINK_TTL
    await sql.execute(
        "UPDATE user_token SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id,
        purpose,
        now,
    )
    await sql.execute(
        "INSERT INTO user_token (token_hash, user_id, business_id, purpose, expires_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        security.token_hash(token),
        user_id,
        business_id,
        purpose,
        now + ttl,
        now,
    )
    path = "/enroll/" if purpose == "enroll" else "/reset/"
    return f"{get_settings().base_url}{path}{token}"


# ---- sessions (shared with auth.py) --------------------------------------------------------------


async def end_all_sessions(user_id: str) -> int:
    result = await sql.execute("DELETE FROM web_session WHERE user_id = $1", user_id)
    return int(result.split()[-1]) if result.startswith("DELETE") else 0


# ---- API keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    id: str
    business_id: str
    client_id: str
    name: str
    permissions: frozenset[str]
    scope_account_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at else "active"


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        business_id=row["business_id"],
        client_id=row["client_id"],
        name=row["name"],
        permissions=frozenset(row["permissions"] or []),
        scope_account_id=row["scope_account_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        created_by=row["created_by"],
    )


async def list_api_keys(actor: Actor) -> list[ApiKey]:
    """The API keys of the actor's business and scope, newest first."""
    actor.require("developers", "view")
    args: list[Any] = [actor.business_id]
    rows = await sql.fetch(
        f"SELECT * FROM api_key WHERE business_id = $1 AND {_scope_clause(actor, args)} "
        "ORDER BY created_at DESC",
        *args,
    )
    return [_api_key(r) for r in rows]


async def create_api_key(
    actor: Actor,
    *,
    name: str,
    permissions: frozenset[str],
    scope_account_id: str | None = None,
    secret: str | None = None,
    client_id: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key; returns it with its secret, which is shown once and never again."""
    actor.require("developers", "manage")
    errors: list[FieldError] = []
    name = clean_text(errors, "name", name, max_length=100)
    granted = roles.normalise_rights(permissions)
    if not granted:
        errors.append(FieldError("permissions", gettext("Give the key at least one permission.")))
    scope = await _validate_scope(actor, errors, scope_account_id)
    if errors:
        raise ValidationFailed(gettext("Some fields are invalid."), errors=errors)
    if actor.kind != "system":
        if not roles.covers(actor.rights, granted):
            raise Forbidden(gettext("A key cannot have rights you do not have yourself."))
        if actor.scope_account_id is not None and scope != actor.scope_account_id:
            raise Forbidden(gettext("A key cannot reach beyond your own scope."))
    secret = secret or "sk_" + security.new_token(32)
    key_id = new_id("key")
    client_id = client_id or "ck_" + security.new_token(12).replace("-", "x").replace("_", "y")
    async with transaction():
        await sql.execute(
            """INSERT INTO api_key (id, business_id, client_id, name, secret_sealed, secret_hash, permissions,
                   scope_account_id, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
            key_id,
            actor.business_id,
            client_id,
            name,
            security.seal_secret(get_settings().secret_key, secret),
            security.secret_fingerprint(secret),
            sorted(granted),
            scope,
            actor.user_id,
            clock.now(),
        )
        await record(
            actor,
            "api_key.created",
            f"API key {name} ({client_id}) created with {', '.join(sorted(granted))}",
            refs={"api_key_id": key_id, "client_id": client_id},
        )
    row = await sql.fetchrow("SELECT * FROM api_key WHERE id = $1", key_id)
    return _api_key(row), secret


async def revoke_api_key(actor: Actor, key_id: str) -> ApiKey:
    """Revoke a key of the actor's business and scope (404 for any other); it stops working at once."""
    actor.require("developers", "manage")
    async with transaction():
        args: list[Any] = [key_id, actor.business_id, clock.now()]
        row = await sql.fetchrow(
            "UPDATE api_key SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND business_id = $2 "
            f"AND {_scope_clause(actor, args)} RETURNING *",
            *args,
        )
        if row is None:
            raise NotFound(gettext("There is no such API key."))
        await record(
            actor,
            "api_key.revoked",
            f"API key {row['name']} ({row['client_id']}) revoked",
            refs={"api_key_id": key_id, "client_id": row["client_id"]},
        )
    return _api_key(row)
