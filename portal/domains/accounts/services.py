"""The account tree: main account, partner and division sub-accounts, hidden system accounts, scope.

Every function taking an Actor filters by `actor.business_id`; an account outside the business or the
actor's subtree is answered with NotFound (404), never Forbidden.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from portal.domains.accounts.labels import kind_label, status_label
from portal.domains.accounts.schemas import AccountOut, AccountPage, BalanceOut, SettlementBank
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.money import CURRENCIES
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

SYSTEM_ROLES = ("world", "fees", "clearing")
ACCOUNT_COLUMNS = (
    "id, business_id, parent_id, path, depth, name, kind, system_role, currency, status, reference, "
    "email, phone, settlement_bank_code, settlement_account_number, settlement_holder_name, metadata, "
    "debits_posted, credits_posted, debits_pending, credits_pending, created_at, updated_at"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}$")


@dataclass(frozen=True)
class AccountRow:
    """An account as read from the database (services and views use this; the API uses AccountOut)."""

    id: str
    business_id: str
    parent_id: str | None
    path: str
    depth: int
    name: str
    kind: str
    system_role: str | None
    currency: str
    status: str
    reference: str | None
    email: str | None
    phone: str | None
    settlement_bank_code: str | None
    settlement_account_number: str | None
    settlement_holder_name: str | None
    metadata: dict[str, Any]
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    created_at: datetime
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def settlement_bank(self) -> SettlementBank | None:
        if not self.settlement_bank_code:
            return None
        return SettlementBank(
            self.settlement_bank_code, self.settlement_account_number or "", self.settlement_holder_name or ""
        )

    def out(self) -> AccountOut:
        return AccountOut(
            id=self.id,
            parent_id=self.parent_id,
            name=self.name,
            kind=self.kind,
            currency=self.currency,
            status=self.status,
            reference=self.reference,
            email=self.email,
            phone=self.phone,
            settlement_bank=self.settlement_bank,
            metadata=self.metadata,
            created_at=self.created_at,
        )

    def balance(self, as_of: datetime | None = None) -> BalanceOut:
        return BalanceOut(
            account_id=self.id,
            currency=self.currency,
            available=self.available,
            posted=self.posted,
            pending_in=self.credits_pending,
            on_hold=self.debits_pending,
            as_of=as_of or clock.now(),
        )


def row_to_account(row: asyncpg.Record | dict[str, Any]) -> AccountRow:
    data = dict(row)
    meta = data.get("metadata")
    data["metadata"] = json.loads(meta) if isinstance(meta, str) else (meta or {})
    return AccountRow(**data)


def in_scope(actor: Actor, account: AccountRow) -> bool:
    """The account is this actor's business's, not a system account, and inside the actor's subtree."""
    if account.business_id != actor.business_id or account.kind == "system":
        return False
    return actor.scope_account_id is None or f"/{actor.scope_account_id}/" in account.path


def _not_found(account_id: str, pointer: str = "/account_id") -> NotFound:
    return NotFound(
        gettext("Account %(id)s was not found.") % {"id": account_id},
        errors=[FieldError(pointer, gettext("not found"))],
    )


# --- business bootstrap -------------------------------------------------------------------------


async def ensure_system_accounts(business_id: str, currency: str) -> dict[str, str]:
    """Create the business's `world`, `fees` and `clearing` accounts in `currency` if missing."""
    async with sql.connection() as conn:
        for role in SYSTEM_ROLES:
            account_id = new_id("acc")
            await conn.execute(
                "INSERT INTO account (id, business_id, path, name, kind, system_role, currency) "
                "VALUES ($1, $2, $3, $4, 'system', $5, $6) "
                "ON CONFLICT (business_id, currency, system_role) WHERE kind = 'system' DO NOTHING",
                account_id,
                business_id,
                f"/{account_id}/",
                f"{role} ({currency})",
                role,
                currency,
            )
        rows = await conn.fetch(
            "SELECT system_role, id FROM account WHERE business_id = $1 AND kind = 'system' "
            "AND currency = $2",
            business_id,
            currency,
        )
    return {row["system_role"]: row["id"] for row in rows}


async def ensure_business_accounts(business_id: str, name: str = "Main account") -> str:
    """Idempotently create the business's main IDR account and IDR system accounts; return the main id."""
    async with sql.connection() as conn:
        existing = await conn.fetchval(
            "SELECT id FROM account WHERE business_id = $1 AND kind = 'main'", business_id
        )
        if existing is None:
            account_id = new_id("acc")
            await conn.execute(
                "INSERT INTO account (id, business_id, path, name, kind, currency) "
                "VALUES ($1, $2, $3, $4, 'main', 'IDR') "
                "ON CONFLICT (business_id) WHERE kind = 'main' DO NOTHING",
                account_id,
                business_id,
                f"/{account_id}/",
                name[:200],
            )
            existing = await conn.fetchval(
                "SELECT id FROM account WHERE business_id = $1 AND kind = 'main'", business_id
            )
    await ensure_system_accounts(business_id, "IDR")
    return str(existing)


async def system_account_id(business_id: str, currency: str, role: str) -> str:
    """The id of a system account (created on first use)."""
    row = await sql.fetchval(
        "SELECT id FROM account WHERE business_id = $1 AND kind = 'system' AND currency = $2 "
        "AND system_role = $3",
        business_id,
        currency,
        role,
    )
    if row is not None:
        return str(row)
    return (await ensure_system_accounts(business_id, currency))[role]


async def main_account(actor: Actor) -> AccountRow:
    main_id = await ensure_business_accounts(actor.business_id)
    return await _load(main_id)


# --- reading ------------------------------------------------------------------------------------


async def _load(account_id: str, *, lock: bool = False) -> AccountRow:
    row = await sql.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        account_id,
    )
    if row is None:
        raise _not_found(account_id)
    return row_to_account(row)


async def get_account_row(
    actor: Actor, account_id: str, *, lock: bool = False, pointer: str = "/account_id"
) -> AccountRow:
    """One account the actor may see, or NotFound."""
    if not isinstance(account_id, str) or not account_id.startswith("acc_"):
        raise _not_found(str(account_id), pointer)
    row = await sql.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1 AND business_id = $2"
        + (" FOR UPDATE" if lock else ""),
        account_id,
        actor.business_id,
    )
    if row is None:
        raise _not_found(account_id, pointer)
    account = row_to_account(row)
    if not in_scope(actor, account):
        raise _not_found(account_id, pointer)
    return account


async def find_account(actor: Actor, account_id: str) -> None:
    """NotFound unless the actor may see the account (no rights check: the route's guard does that)."""
    await get_account_row(actor, account_id)


async def get_account(actor: Actor, account_id: str) -> AccountOut:
    actor.require("accounts", "view")
    return (await get_account_row(actor, account_id)).out()


def _scope_clause(actor: Actor, args: list[Any]) -> str:
    args.append(actor.business_id)
    clause = f"business_id = ${len(args)} AND kind <> 'system'"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        clause += f" AND path LIKE ${len(args)}"
    return clause


async def list_account_rows(
    actor: Actor,
    *,
    parent_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> tuple[list[AccountRow], str | None]:
    """Accounts in the actor's scope, oldest first, keyset-paginated by id."""
    actor.require("accounts", "view")
    await ensure_business_accounts(actor.business_id)
    size = clamp_limit(limit)
    args: list[Any] = []
    where = [_scope_clause(actor, args)]
    if parent_id:
        args.append(parent_id)
        where.append(f"parent_id = ${len(args)}")
    if kind:
        if kind not in ("main", "partner", "division"):
            raise ValidationFailed(
                gettext("kind is main, partner or division."), errors=[FieldError("kind", gettext("invalid"))]
            )
        args.append(kind)
        where.append(f"kind = ${len(args)}")
    if status:
        if status not in ("active", "frozen", "closed"):
            raise ValidationFailed(
                gettext("status is active, frozen or closed."),
                errors=[FieldError("status", gettext("invalid"))],
            )
        args.append(status)
        where.append(f"status = ${len(args)}")
    if q:
        args.append(f"%{q.strip().lower()}%")
        where.append(f"(lower(name) LIKE ${len(args)} OR lower(coalesce(reference, '')) LIKE ${len(args)})")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"id > ${len(args)}")
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(args)}",
        *args,
    )
    accounts = [row_to_account(r) for r in rows[:size]]
    next_cursor = encode_cursor(accounts[-1].id) if len(rows) > size else None
    return accounts, next_cursor


async def list_accounts(actor: Actor, **filters: Any) -> AccountPage:
    rows, next_cursor = await list_account_rows(actor, **filters)
    return AccountPage([r.out() for r in rows], next_cursor is not None, next_cursor)


async def subtree_rows(actor: Actor, root_id: str | None = None) -> list[AccountRow]:
    """Every account in the actor's scope (or under `root_id`), parents before children."""
    actor.require("accounts", "view")
    await ensure_business_accounts(actor.business_id)
    args: list[Any] = []
    clause = _scope_clause(actor, args)
    if root_id:
        root = await get_account_row(actor, root_id)
        args.append(f"{root.path}%")
        clause += f" AND path LIKE ${len(args)}"
    rows = await sql.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE {clause} ORDER BY depth, name, id", *args
    )
    return [row_to_account(r) for r in rows]


@dataclass
class TreeNode:
    account: AccountRow
    children: list[TreeNode]
    # Roll-up (own + descendants) per currency: {"IDR": {"available": …, "posted": …, …}}.
    rollup: dict[str, dict[str, int]]


def _add(total: dict[str, dict[str, int]], account: AccountRow) -> None:
    bucket = total.setdefault(account.currency, {"available": 0, "posted": 0, "pending_in": 0, "on_hold": 0})
    bucket["available"] += account.available
    bucket["posted"] += account.posted
    bucket["pending_in"] += account.credits_pending
    bucket["on_hold"] += account.debits_pending


def build_tree(rows: list[AccountRow]) -> list[TreeNode]:
    """Nest accounts under their parents (roots = accounts whose parent is not in `rows`)."""
    nodes = {r.id: TreeNode(r, [], {}) for r in rows}
    roots: list[TreeNode] = []
    for r in rows:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent.children if parent else roots).append(nodes[r.id])

    def roll(node: TreeNode) -> dict[str, dict[str, int]]:
        _add(node.rollup, node.account)
        for child in node.children:
            for currency, values in roll(child).items():
                bucket = node.rollup.setdefault(currency, dict.fromkeys(values, 0))
                for key, value in values.items():
                    bucket[key] += value
        return node.rollup

    for root in roots:
        roll(root)
    return roots


async def tree(actor: Actor) -> list[TreeNode]:
    return build_tree(await subtree_rows(actor))


async def rollup_balance(actor: Actor, account_id: str) -> BalanceOut:
    """Balance of the account plus all its descendants in the account's currency (`accounts` counts them)."""
    actor.require("accounts", "view")
    root = await get_account_row(actor, account_id)
    row = await sql.fetchrow(
        "SELECT count(*) AS n, "
        "coalesce(sum(credits_posted - debits_posted - debits_pending), 0) AS available, "
        "coalesce(sum(credits_posted - debits_posted), 0) AS posted, "
        "coalesce(sum(credits_pending), 0) AS pending_in, coalesce(sum(debits_pending), 0) AS on_hold "
        "FROM account WHERE business_id = $1 AND path LIKE $2 AND currency = $3",
        actor.business_id,
        f"{root.path}%",
        root.currency,
    )
    assert row is not None
    return BalanceOut(
        account_id=root.id,
        currency=root.currency,
        available=int(row["available"]),
        posted=int(row["posted"]),
        pending_in=int(row["pending_in"]),
        on_hold=int(row["on_hold"]),
        as_of=clock.now(),
        accounts=int(row["n"]),
    )


async def list_for_picker(actor: Actor) -> list[tuple[str, str]]:
    """(account id, indented label) for every account in scope: identity's user-scope picker uses this."""
    rows = await subtree_rows(actor)
    ordered: list[tuple[str, str]] = []

    def walk(nodes: list[TreeNode], depth: int) -> None:
        for node in nodes:
            label = f"{'— ' * depth}{node.account.name} ({kind_label(node.account.kind).lower()})"
            ordered.append((node.account.id, label))
            walk(node.children, depth + 1)

    walk(build_tree(rows), 0)
    return ordered


async def list_banks() -> list[tuple[str, str]]:
    rows = await sql.fetch("SELECT code, name FROM ref_banks ORDER BY name")
    return [(r["code"], r["name"]) for r in rows]


# --- writing ------------------------------------------------------------------------------------


def _text(value: Any, pointer: str, *, max_len: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            gettext("%(field)s is required.") % {"field": pointer.strip("/")},
            errors=[FieldError(pointer, gettext("required"))],
        )
    value = value.strip()
    if len(value) > max_len:
        raise ValidationFailed(
            gettext("%(field)s may be at most %(max)d characters.")
            % {"field": pointer.strip("/"), "max": max_len},
            errors=[FieldError(pointer, gettext("at most %(max)d characters") % {"max": max_len})],
        )
    return value


def _validate_contact(email: str | None, phone: str | None) -> None:
    if email is not None and not _EMAIL_RE.match(email):
        raise ValidationFailed(
            gettext("%(email)r is not an e-mail address.") % {"email": email},
            errors=[FieldError("/email", gettext("invalid"))],
        )
    if phone is not None and not _PHONE_RE.match(phone):
        raise ValidationFailed(
            gettext("%(phone)r is not a phone number.") % {"phone": phone},
            errors=[FieldError("/phone", gettext("invalid"))],
        )


def _validate_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationFailed(
            gettext("metadata is an object."), errors=[FieldError("/metadata", gettext("an object"))]
        )
    if len(metadata) > 50 or len(json.dumps(metadata)) > 8000:
        raise ValidationFailed(
            gettext("metadata may hold at most 50 keys and 8,000 characters."),
            errors=[FieldError("/metadata", gettext("too large"))],
        )
    return metadata


async def create_account(
    actor: Actor,
    *,
    name: str,
    kind: str,
    parent_id: str,
    currency: str = "IDR",
    reference: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    metadata: dict[str, Any] | None = None,
    settlement_bank: dict[str, Any] | SettlementBank | None = None,
) -> AccountRow:
    """Create a partner or division account under `parent_id` (which must be in the actor's scope),
    optionally with its settlement bank account (checked as `update_account` checks it)."""
    actor.require("accounts", "manage")
    clean_name = _text(name, "/name", max_len=200, required=True)
    if kind not in ("partner", "division"):
        raise ValidationFailed(
            gettext("kind is partner or division."),
            errors=[FieldError("/kind", gettext("partner or division"))],
        )
    if currency not in CURRENCIES:
        raise ValidationFailed(
            gettext("Unsupported currency %(currency)r; use one of %(currencies)s.")
            % {"currency": currency, "currencies": ", ".join(CURRENCIES)},
            code="unsupported_currency",
            errors=[FieldError("/currency", gettext("unsupported currency"))],
        )
    ref = _text(reference, "/reference", max_len=100)
    mail = _text(email, "/email", max_len=254)
    tel = _text(phone, "/phone", max_len=32)
    _validate_contact(mail, tel)
    meta = _validate_metadata(metadata)
    bank = await _settlement_bank_columns(settlement_bank)
    await ensure_business_accounts(actor.business_id)
    async with transaction():
        parent = await get_account_row(actor, parent_id, lock=True, pointer="/parent_id")
        if parent.status == "closed":
            raise ValidationFailed(
                gettext("Account %(id)s is closed: no new accounts under it.") % {"id": parent.id},
                code="account_closed",
                errors=[FieldError("/parent_id", gettext("closed"))],
            )
        if currency != "IDR":
            await ensure_system_accounts(actor.business_id, currency)
        account_id = new_id("acc")
        try:
            row = await sql.fetchrow(
                "INSERT INTO account (id, business_id, parent_id, path, depth, name, kind, currency, "
                "reference, email, phone, metadata, settlement_bank_code, settlement_account_number, "
                "settlement_holder_name) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15) "
                f"RETURNING {ACCOUNT_COLUMNS}",
                account_id,
                actor.business_id,
                parent.id,
                f"{parent.path}{account_id}/",
                parent.depth + 1,
                clean_name,
                kind,
                currency,
                ref,
                mail,
                tel,
                json.dumps(meta),
                *bank.values(),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                gettext("Another account already has the reference %(reference)r.") % {"reference": ref},
                code="duplicate_reference",
                errors=[FieldError("/reference", gettext("already used"))],
            ) from None
        assert row is not None
        account = row_to_account(row)
        await _event(actor.business_id, "account.created", account)
        await _audit(actor, "account.created", f"Created {kind} account {clean_name}", account.id)
    return account


_STATUS_EVENTS = {"freeze": "account.frozen", "unfreeze": "account.unfrozen", "close": "account.closed"}


async def _event(business_id: str, event_type: str, account: AccountRow) -> None:
    """The webhook event of an account change, in its transaction (before the activity log)."""
    import msgspec

    from portal.domains.webhooks.services import emit

    await emit(business_id, event_type, msgspec.to_builtins(account.out()), account_ids=(account.id,))


async def _audit(actor: Actor, action: str, summary: str, account_id: str) -> None:
    from portal.domains.audit.services import record

    await record(actor, action, summary, refs={"account_id": account_id}, business_id=actor.business_id)


async def _settlement_bank_columns(bank: dict[str, Any] | SettlementBank | None) -> dict[str, Any]:
    """The settlement bank account as the account's columns, checked (bank from the BI code list,
    5 to 20 digits, a holder name); None clears it."""
    if bank is None:
        return {
            "settlement_bank_code": None,
            "settlement_account_number": None,
            "settlement_holder_name": None,
        }
    if isinstance(bank, SettlementBank):
        bank = {
            "bank_code": bank.bank_code,
            "account_number": bank.account_number,
            "holder_name": bank.holder_name,
        }
    code = str(bank.get("bank_code") or "").strip()
    number = re.sub(r"[\s-]", "", str(bank.get("account_number") or ""))
    holder = _text(bank.get("holder_name"), "/settlement_bank/holder_name", max_len=100, required=True)
    if not await sql.fetchval("SELECT 1 FROM ref_banks WHERE code = $1", code):
        raise ValidationFailed(
            gettext("Unknown bank code %(code)r.") % {"code": code},
            errors=[FieldError("/settlement_bank/bank_code", gettext("unknown bank"))],
        )
    if not re.fullmatch(r"[0-9]{5,20}", number):
        raise ValidationFailed(
            gettext("A bank account number is 5 to 20 digits."),
            errors=[FieldError("/settlement_bank/account_number", gettext("5 to 20 digits"))],
        )
    return {
        "settlement_bank_code": code,
        "settlement_account_number": number,
        "settlement_holder_name": holder,
    }


async def update_account(actor: Actor, account_id: str, changes: dict[str, Any]) -> AccountRow:
    """Change name, reference, contact, metadata or the default settlement bank account."""
    actor.require("accounts", "manage")
    await get_account_row(actor, account_id)  # another business's or out of scope: 404 before validation
    sets: dict[str, Any] = {}
    if "name" in changes:
        sets["name"] = _text(changes["name"], "/name", max_len=200, required=True)
    if "reference" in changes:
        sets["reference"] = _text(changes["reference"], "/reference", max_len=100)
    if "email" in changes:
        sets["email"] = _text(changes["email"], "/email", max_len=254)
    if "phone" in changes:
        sets["phone"] = _text(changes["phone"], "/phone", max_len=32)
    _validate_contact(sets.get("email"), sets.get("phone"))
    if "metadata" in changes:
        sets["metadata"] = json.dumps(_validate_metadata(changes["metadata"]))
    if "settlement_bank" in changes:
        sets.update(await _settlement_bank_columns(changes["settlement_bank"]))
    async with transaction():
        account = await get_account_row(actor, account_id, lock=True)
        if not sets:
            return account
        assignments = ", ".join(
            f"{col} = ${i}::jsonb" if col == "metadata" else f"{col} = ${i}" for i, col in enumerate(sets, 2)
        )
        try:
            row = await sql.fetchrow(
                f"UPDATE account SET {assignments}, updated_at = now() WHERE id = $1 "
                f"RETURNING {ACCOUNT_COLUMNS}",
                account.id,
                *sets.values(),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                gettext("Another account already has that reference."),
                code="duplicate_reference",
                errors=[FieldError("/reference", gettext("already used"))],
            ) from None
        assert row is not None
        await _audit(actor, "account.updated", f"Updated account {account.name}", account.id)
    return row_to_account(row)


async def set_status(actor: Actor, account_id: str, action: str) -> AccountRow:
    """`freeze` (no debits), `unfreeze`, or `close` (only at zero balance, no open children)."""
    actor.require("accounts", "manage")
    async with transaction():
        account = await get_account_row(actor, account_id, lock=True)
        if action == "freeze":
            if account.status != "active":
                raise Conflict(
                    gettext("Account %(id)s is %(status)s; only an active account can be frozen.")
                    % {"id": account.id, "status": status_label(account.status)},
                    code="invalid_status",
                )
            new_status = "frozen"
        elif action == "unfreeze":
            if account.status != "frozen":
                raise Conflict(
                    gettext("Account %(id)s is %(status)s, not frozen.")
                    % {"id": account.id, "status": status_label(account.status)},
                    code="invalid_status",
                )
            new_status = "active"
        elif action == "close":
            if account.status == "closed":
                raise Conflict(
                    gettext("Account %(id)s is already closed.") % {"id": account.id}, code="invalid_status"
                )
            if account.kind == "main":
                raise Conflict(gettext("The main account cannot be closed."), code="invalid_status")
            if account.posted or account.debits_pending or account.credits_pending:
                raise Conflict(
                    gettext("Account %(id)s still holds money; it can be closed only at a zero balance.")
                    % {"id": account.id},
                    code="balance_not_zero",
                )
            open_children = await sql.fetchval(
                "SELECT count(*) FROM account WHERE parent_id = $1 AND status <> 'closed'", account.id
            )
            if open_children:
                raise Conflict(
                    gettext("Account %(id)s has open sub-accounts; close them first.") % {"id": account.id},
                    code="has_open_children",
                )
            new_status = "closed"
        else:
            raise ValidationFailed(gettext("Unknown action %(action)r.") % {"action": action})
        row = await sql.fetchrow(
            f"UPDATE account SET status = $2, updated_at = now() WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}",
            account.id,
            new_status,
        )
        assert row is not None
        await _event(actor.business_id, _STATUS_EVENTS[action], row_to_account(row))
        await _audit(actor, f"account.{action}", f"{action.capitalize()} account {account.name}", account.id)
    return row_to_account(row)
