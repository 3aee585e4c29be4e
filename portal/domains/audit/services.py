"""The activity log: append-only, one hash chain per business (and one, `system`, for events without
a business). Each row hashes the previous row's hash and its own canonical content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.forms import day_error
from portal.lib.i18n import gettext
from portal.lib.pagination import decode_cursor, encode_cursor
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"


def canonical(row: dict[str, Any]) -> str:
    """The exact bytes a row's hash covers (also what `neraca audit verify` recomputes)."""
    occurred = row["occurred_at"]
    content = {
        "chain": row["chain"],
        "seq": int(row["seq"]),
        "business_id": row["business_id"],
        "occurred_at": occurred.astimezone(UTC).isoformat(timespec="microseconds")
        if isinstance(occurred, datetime)
        else str(occurred),
        "actor_kind": row["actor_kind"],
        "actor_id": row["actor_id"],
        "actor_name": row["actor_name"],
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "action": row["action"],
        "summary": row["summary"],
        "refs": row["refs"] if isinstance(row["refs"], dict) else json.loads(row["refs"] or "{}"),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(row)).encode("utf-8")).hexdigest()


async def _append(
    *,
    business_id: str | None,
    actor_kind: str,
    actor_id: str | None,
    actor_name: str,
    ip: str | None,
    user_agent: str | None,
    action: str,
    summary: str,
    refs: dict[str, str],
) -> None:
    chain = business_id or SYSTEM_CHAIN
    async with sql.connection() as conn:
        # The chain head row is the lock: appends to one chain are serialised until the commit.
        await conn.execute(
            "INSERT INTO activity_chain_head (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
            chain,
            GENESIS,
        )
        head = await conn.fetchrow(
            "SELECT seq, hash FROM activity_chain_head WHERE chain = $1 FOR UPDATE", chain
        )
        assert head is not None
        row = {
            "chain": chain,
            "seq": int(head["seq"]) + 1,
            "business_id": business_id,
            "occurred_at": clock.now(),
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "actor_name": actor_name[:200],
            "ip": ip,
            "user_agent": (user_agent or None) and user_agent[:300],
            "action": action,
            "summary": summary[:1000],
            "refs": refs,
        }
        digest = row_hash(head["hash"], row)
        search = " ".join([actor_name, summary, *refs.values()]).lower()
        await conn.execute(
            """INSERT INTO activity (chain, seq, business_id, occurred_at, actor_kind, actor_id, actor_name,
                   ip, user_agent, action, summary, refs, search, prev_hash, hash)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13,$14,$15)""",
            chain,
            row["seq"],
            business_id,
            row["occurred_at"],
            actor_kind,
            actor_id,
            row["actor_name"],
            ip,
            row["user_agent"],
            action,
            row["summary"],
            json.dumps(refs),
            search,
            head["hash"],
            digest,
        )
        await conn.execute(
            "UPDATE activity_chain_head SET seq = $2, hash = $3 WHERE chain = $1", chain, row["seq"], digest
        )


async def record(
    actor: Actor | None,
    action: str,
    summary: str,
    *,
    refs: dict[str, str] | None = None,
    business_id: str | None = None,
) -> None:
    """Append one activity row (inside the current transaction when one is open, so it commits or
    rolls back with the change it describes). `action` is dotted (`user.login`, `transfer.created`);
    `refs` are the object references it touched (`{"account_id": "acc_…", "reference": "INV-1"}`).

    Appends to one business's chain are serialised until the transaction commits: call it as the last
    statement of a money transaction to keep that window short.
    """
    clean_refs = {str(k): str(v) for k, v in (refs or {}).items() if v is not None}
    kwargs: dict[str, Any] = {
        "business_id": business_id or (actor.business_id if actor else None),
        "actor_kind": actor.kind if actor else "anonymous",
        "actor_id": (actor.user_id or actor.api_key_id) if actor else None,
        "actor_name": actor.name if actor else "",
        "ip": actor.ip if actor else None,
        "user_agent": actor.user_agent if actor else None,
        "action": action,
        "summary": summary,
        "refs": clean_refs,
    }
    if sql.in_transaction():
        await _append(**kwargs)
        return
    async with transaction():
        await _append(**kwargs)


async def record_many(entries: list[tuple[Actor, str, str, dict[str, str]]]) -> None:
    """Append several rows in the current transaction: one chain-head lock and one pipelined insert per
    chain instead of three round trips per row (the ledger's group commit writes one row per transfer).
    Each entry is (actor, action, summary, refs); the business is the actor's."""
    if not entries:
        return
    if not sql.in_transaction():
        async with transaction():
            await record_many(entries)
        return
    by_chain: dict[str, list[tuple[Actor, str, str, dict[str, str]]]] = {}
    for entry in entries:
        by_chain.setdefault(entry[0].business_id or SYSTEM_CHAIN, []).append(entry)
    now = clock.now()
    async with sql.connection() as conn:
        for chain in sorted(by_chain):
            # Creates the head on first use and locks it (the upsert takes the row lock) in one round trip.
            head = await conn.fetchrow(_LOCK_HEAD, chain, GENESIS)
            assert head is not None
            seq, prev = int(head["seq"]), str(head["hash"])
            columns: list[list[Any]] = [[] for _ in range(15)]
            for actor, action, summary, refs in by_chain[chain]:
                clean_refs = {str(k): str(v) for k, v in refs.items() if v is not None}
                seq += 1
                row = {
                    "chain": chain,
                    "seq": seq,
                    "business_id": actor.business_id,
                    "occurred_at": now,
                    "actor_kind": actor.kind,
                    "actor_id": actor.user_id or actor.api_key_id,
                    "actor_name": actor.name[:200],
                    "ip": actor.ip,
                    "user_agent": (actor.user_agent or None) and actor.user_agent[:300],
                    "action": action,
                    "summary": summary[:1000],
                    "refs": clean_refs,
                }
                digest = row_hash(prev, row)
                search = " ".join([actor.name, summary, *clean_refs.values()]).lower()
                values = (
                    seq,
                    row["business_id"],
                    row["actor_kind"],
                    row["actor_id"],
                    row["actor_name"],
                    row["ip"],
                    row["user_agent"],
                    action,
                    row["summary"],
                    json.dumps(clean_refs),
                    search,
                    prev,
                    digest,
                )
                for column, value in zip(columns, values, strict=False):
                    column.append(value)
                prev = digest
            # All rows and the new head in one statement.
            await conn.execute(_APPEND_MANY, chain, now, *columns[:13], seq, prev)


_LOCK_HEAD = (
    "INSERT INTO activity_chain_head AS h (chain, seq, hash) VALUES ($1, 0, $2) "
    "ON CONFLICT (chain) DO UPDATE SET chain = h.chain RETURNING h.seq, h.hash"
)
_APPEND_MANY = """WITH ins AS (
    INSERT INTO activity (chain, seq, business_id, occurred_at, actor_kind, actor_id, actor_name, ip,
        user_agent, action, summary, refs, search, prev_hash, hash)
    SELECT $1, t.seq, t.business_id, $2, t.actor_kind, t.actor_id, t.actor_name, t.ip, t.user_agent,
        t.action, t.summary, t.refs::jsonb, t.search, t.prev_hash, t.hash
    FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
        $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
        AS t(seq, business_id, actor_kind, actor_id, actor_name, ip, user_agent, action, summary, refs,
             search, prev_hash, hash)
    ORDER BY t.seq
)
UPDATE activity_chain_head SET seq = $16, hash = $17 WHERE chain = $1"""


async def record_anonymous(
    action: str,
    summary: str,
    *,
    business_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    actor_name: str = "",
    actor_id: str | None = None,
    refs: dict[str, str] | None = None,
) -> None:
    """For events with no signed-in actor (failed sign-ins, rejected signatures)."""

    async def go() -> None:
        await _append(
            business_id=business_id,
            actor_kind="anonymous",
            actor_id=actor_id,
            actor_name=actor_name,
            ip=ip,
            user_agent=user_agent,
            action=action,
            summary=summary,
            refs={str(k): str(v) for k, v in (refs or {}).items() if v is not None},
        )

    if sql.in_transaction():
        await go()
    else:
        async with transaction():
            await go()


# ---- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityFilter:
    user: str = ""
    action: str = ""
    data: str = ""
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class ActivityPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _where(actor: Actor, flt: ActivityFilter) -> tuple[list[str], list[Any]]:
    clauses = ["business_id = $1"]
    args: list[Any] = [actor.business_id]
    if flt.user:
        args.append(f"%{_like(flt.user.lower())}%")
        clauses.append(
            f"(lower(actor_name) LIKE ${len(args)} OR lower(coalesce(actor_id,'')) LIKE ${len(args)})"
        )
    if flt.action:
        args.append(_like(flt.action.lower()) + "%")
        clauses.append(f"action LIKE ${len(args)}")
    if flt.data:
        args.append(f"%{_like(flt.data.lower())}%")
        clauses.append(f"search LIKE ${len(args)}")
    if flt.start:
        args.append(datetime.combine(flt.start, time.min, tzinfo=WIB))
        clauses.append(f"occurred_at >= ${len(args)}")
    if flt.end:
        args.append(datetime.combine(flt.end + timedelta(days=1), time.min, tzinfo=WIB))
        clauses.append(f"occurred_at < ${len(args)}")
    if actor.scope_account_id is not None:
        # A scoped actor sees only what they did themselves (account-subtree filtering of other
        # people's activity arrives with the accounts domain).
        args.append(actor.user_id or actor.api_key_id or "")
        clauses.append(f"actor_id = ${len(args)}")
    return clauses, args


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_filter(user: str, action: str, data: str, start: str, end: str) -> ActivityFilter:
    errors: list[FieldError] = []
    for name, value in (("user", user), ("action", action), ("data", data)):
        if len(value) > 200 or "\x00" in value:
            errors.append(FieldError(name, gettext("at most 200 characters, no control characters")))

    def parse_date(name: str, value: str) -> date | None:
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            errors.append(FieldError(name, gettext("a date as YYYY-MM-DD")))
            return None
        problem = day_error(name, day)
        if problem is not None:
            errors.append(problem)
            return None
        return day

    start_date, end_date = parse_date("start", start), parse_date("end", end)
    if start_date and end_date and end_date < start_date:
        errors.append(FieldError("end", gettext("the end date is before the start date")))
    if errors:
        raise ValidationFailed(gettext("The search has invalid fields."), errors=errors)
    return ActivityFilter(user.strip(), action.strip(), data.strip(), start_date, end_date)


async def search(
    actor: Actor, flt: ActivityFilter, *, limit: int = 50, after: str | None = None
) -> ActivityPage:
    """Newest first, keyset-paginated by row id."""
    actor.require("activity", "view")
    clauses, args = _where(actor, flt)
    cursor = decode_cursor(after)
    if cursor is not None:
        if not isinstance(cursor, int):
            raise ValidationFailed(
                gettext("The cursor is not valid."), errors=[FieldError("after", gettext("invalid"))]
            )
        args.append(cursor)
        clauses.append(f"id < ${len(args)}")
    args.append(limit + 1)
    rows = await sql.fetch(
        f"SELECT * FROM activity WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ${len(args)}", *args
    )
    data = [_row(r) for r in rows[:limit]]
    next_cursor = encode_cursor(int(rows[limit - 1]["id"])) if len(rows) > limit else None
    return ActivityPage(data, next_cursor)


async def iterate_all(actor: Actor, flt: ActivityFilter, batch: int = 500) -> AsyncIterator[dict[str, Any]]:
    """Every matching row, newest first, in batches (for the CSV export)."""
    after: str | None = None
    while True:
        result = await search(actor, flt, limit=batch, after=after)
        for row in result.rows:
            yield row
        if result.next_cursor is None:
            return
        after = result.next_cursor


async def about(business_id: str, ref: str, value: str) -> list[dict[str, Any]]:
    """The activity rows naming one object (`refs[ref] == value`), oldest first: the "by whom" of a money
    object's timeline. The caller has already checked the object is the actor's to see."""
    rows = await sql.fetch(
        "SELECT occurred_at, actor_kind, actor_name, action, summary FROM activity "
        "WHERE business_id = $1 AND refs ->> $2 = $3 ORDER BY id LIMIT 50",
        business_id,
        ref,
        value,
    )
    return [dict(r) for r in rows]


def _row(record: Any) -> dict[str, Any]:
    row = dict(record)
    if isinstance(row.get("refs"), str):
        row["refs"] = json.loads(row["refs"])
    return row


# ---- verifying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int
    row_id: int | None
    kind: str  # altered | missing | broken_link
    message: str


async def verify() -> tuple[int, list[ChainProblem]]:
    """Walk every chain in order; return the number of rows checked and the first problem per chain."""
    problems: list[ChainProblem] = []
    checked = 0
    heads = {r["chain"]: r for r in await sql.fetch("SELECT chain, seq, hash FROM activity_chain_head")}
    chains = sorted(set(heads) | {r["chain"] for r in await sql.fetch("SELECT DISTINCT chain FROM activity")})
    for chain in chains:
        expected_prev = GENESIS
        expected_seq = 1
        problem: ChainProblem | None = None
        async with sql.connection() as conn, conn.transaction():
            cursor = conn.cursor("SELECT * FROM activity WHERE chain = $1 ORDER BY seq", chain)
            async for record in cursor:
                checked += 1
                row = _row(record)
                if row["seq"] != expected_seq:
                    problem = ChainProblem(
                        chain,
                        expected_seq,
                        None,
                        "missing",
                        f"chain {chain}: row #{expected_seq} is missing "
                        f"(the next row is #{row['seq']}, id {row['id']})",
                    )
                    break
                if row["prev_hash"] != expected_prev:
                    problem = ChainProblem(
                        chain,
                        row["seq"],
                        row["id"],
                        "broken_link",
                        f"chain {chain}: row #{row['seq']} (id {row['id']}) "
                        "does not link to the row before it",
                    )
                    break
                if row_hash(row["prev_hash"], row) != row["hash"]:
                    problem = ChainProblem(
                        chain,
                        row["seq"],
                        row["id"],
                        "altered",
                        f"chain {chain}: row #{row['seq']} (id {row['id']}) was altered",
                    )
                    break
                expected_prev = row["hash"]
                expected_seq += 1
        head = heads.get(chain)
        if (
            problem is None
            and head is not None
            and (int(head["seq"]) != expected_seq - 1 or head["hash"] != expected_prev)
        ):
            if int(head["seq"]) > expected_seq - 1:
                problem = ChainProblem(
                    chain,
                    expected_seq,
                    None,
                    "missing",
                    f"chain {chain}: row #{expected_seq} is missing (the chain head is at #{head['seq']})",
                )
            else:
                problem = ChainProblem(
                    chain,
                    int(head["seq"]),
                    None,
                    "altered",
                    f"chain {chain}: the chain head does not match row #{head['seq']}",
                )
        if problem is not None:
            problems.append(problem)
    return checked, problems
