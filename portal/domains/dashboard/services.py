"""Dashboard figures for one actor: balances, money in/out over a window, top sub-accounts, items that
need action and recent transfers — each one set-based query filtered by the business and the actor's
scope subtree (a division manager sees their subtree, a partner their own accounts).

"In scope" means a non-system account of the business whose path contains the scope root. Money in and
money out are posted amounts crossing the scope's boundary (a transfer between two in-scope accounts is
internal and counted in neither), so over all time money in − money out equals the scope's posted balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from portal.domains.accounts.labels import system_role_label
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.i18n import gettext
from portal.lib.timefmt import WIB

WindowKey = Literal["week", "month"]
WINDOW_DAYS: dict[str, int] = {"week": 7, "month": 30}
POSTED_PHASES = "('posted', 'post_pending')"


def window_key(value: str | None) -> WindowKey:
    return "month" if value == "month" else "week"


def _scope_args(actor: Actor) -> list[Any]:
    """$1 = business id, $2 = LIKE pattern of the scope subtree (NULL = the whole business)."""
    return [actor.business_id, f"%/{actor.scope_account_id}/%" if actor.scope_account_id else None]


# An in-scope account of `alias`: business, not system, inside the subtree. Uses $1 and $2.
def _in_scope(alias: str) -> str:
    return (
        f"{alias}.business_id = $1 AND {alias}.kind <> 'system' "
        f"AND ($2::text IS NULL OR {alias}.path LIKE $2::text)"
    )


# --- balances -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    accounts: int
    available: int
    posted: int
    on_hold: int
    pending_in: int


async def balances(actor: Actor) -> list[CurrencyTotals]:
    """Σ of the in-scope accounts' balance columns, per currency (IDR first)."""
    rows = await sql.fetch(
        "SELECT a.currency, count(*) AS n, "
        "sum(a.credits_posted - a.debits_posted - a.debits_pending) AS available, "
        "sum(a.credits_posted - a.debits_posted) AS posted, "
        "sum(a.debits_pending) AS on_hold, sum(a.credits_pending) AS pending_in "
        f"FROM account a WHERE {_in_scope('a')} "
        "GROUP BY a.currency ORDER BY a.currency <> 'IDR', a.currency",
        *_scope_args(actor),
    )
    return [
        CurrencyTotals(
            r["currency"],
            int(r["n"]),
            int(r["available"]),
            int(r["posted"]),
            int(r["on_hold"]),
            int(r["pending_in"]),
        )
        for r in rows
    ]


async def scope_name(actor: Actor) -> str | None:
    if not actor.scope_account_id:
        return None
    name = await sql.fetchval(
        "SELECT name FROM account WHERE id = $1 AND business_id = $2",
        actor.scope_account_id,
        actor.business_id,
    )
    return str(name) if name is not None else None


# --- money in / out over a window ---------------------------------------------------------------


@dataclass
class DayFlow:
    day: date
    money_in: int = 0
    money_out: int = 0
    internal: int = 0


@dataclass
class CurrencyFlow:
    currency: str
    days: list[DayFlow]
    money_in: int = 0
    money_out: int = 0
    internal: int = 0
    transfers: int = 0
    previous_in: int = 0
    previous_out: int = 0

    @property
    def net(self) -> int:
        return self.money_in - self.money_out

    @property
    def peak(self) -> int:
        return max([0] + [max(d.money_in, d.money_out, d.internal) for d in self.days])


@dataclass
class Window:
    key: WindowKey
    days: int
    first_day: date  # WIB, inclusive
    last_day: date  # WIB, inclusive (today)
    start: datetime  # UTC instant of first_day 00:00 WIB
    end: datetime  # UTC instant of the day after last_day 00:00 WIB
    flows: list[CurrencyFlow] = field(default_factory=list)


def make_window(key: WindowKey, now: datetime | None = None) -> Window:
    today = (now or clock.now()).astimezone(WIB).date()
    days = WINDOW_DAYS[key]
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, WIB)
    end = datetime.combine(today + timedelta(days=1), time.min, WIB)
    return Window(key, days, first, today, start, end)


FLOWS_SQL = f"""
SELECT (t.created_at AT TIME ZONE 'Asia/Jakarta')::date AS day, t.currency,
       coalesce(sum(t.amount) FILTER (WHERE c.id IS NOT NULL AND d.id IS NULL), 0) AS money_in,
       coalesce(sum(t.amount) FILTER (WHERE d.id IS NOT NULL AND c.id IS NULL), 0) AS money_out,
       coalesce(sum(t.amount) FILTER (WHERE d.id IS NOT NULL AND c.id IS NOT NULL), 0) AS internal,
       count(*) AS n
FROM transfer t
LEFT JOIN account c ON c.id = t.credit_account_id AND {_in_scope("c")}
LEFT JOIN account d ON d.id = t.debit_account_id AND {_in_scope("d")}
WHERE t.business_id = $1 AND t.phase IN {POSTED_PHASES}
  AND t.created_at >= $3 AND t.created_at < $4
  AND (c.id IS NOT NULL OR d.id IS NOT NULL)
GROUP BY 1, 2
"""


async def window_flows(actor: Actor, key: WindowKey, *, now: datetime | None = None) -> Window:
    """Daily posted money in/out of the scope (and moved inside it) for the window, plus the previous
    window's in/out totals."""
    window = make_window(key, now)
    previous_start = window.start - timedelta(days=window.days)
    rows = await sql.fetch(FLOWS_SQL, *_scope_args(actor), previous_start, window.end)
    by_currency: dict[str, CurrencyFlow] = {}
    span = [window.first_day + timedelta(days=i) for i in range(window.days)]
    for r in rows:
        flow = by_currency.get(r["currency"])
        if flow is None:
            flow = by_currency[r["currency"]] = CurrencyFlow(r["currency"], [DayFlow(d) for d in span])
        day: date = r["day"]
        if day < window.first_day:
            flow.previous_in += int(r["money_in"])
            flow.previous_out += int(r["money_out"])
            continue
        index = (day - window.first_day).days
        if 0 <= index < window.days:
            flow.days[index].money_in += int(r["money_in"])
            flow.days[index].money_out += int(r["money_out"])
            flow.days[index].internal += int(r["internal"])
            flow.internal += int(r["internal"])
            flow.money_in += int(r["money_in"])
            flow.money_out += int(r["money_out"])
            flow.transfers += int(r["n"])
    window.flows = sorted(by_currency.values(), key=lambda f: (f.currency != "IDR", f.currency))
    return window


# --- top sub-accounts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TopAccount:
    id: str
    name: str
    kind: str
    status: str
    currency: str
    accounts: int
    available: int


TOP_SQL = f"""
WITH scope AS (
  SELECT a.id, a.name, a.kind, a.status, a.currency, a.path, a.depth,
         a.credits_posted - a.debits_posted - a.debits_pending AS available
  FROM account a WHERE {_in_scope("a")}
), heads AS (
  SELECT * FROM scope WHERE depth = (SELECT min(depth) FROM scope) + 1
)
SELECT h.id, h.name, h.kind, h.status, h.currency, count(s.id) AS n, sum(s.available) AS available
FROM heads h JOIN scope s ON s.path LIKE h.path || '%' AND s.currency = h.currency
GROUP BY h.id, h.name, h.kind, h.status, h.currency
ORDER BY sum(s.available) DESC, h.name
LIMIT $3
"""


async def top_accounts(actor: Actor, limit: int = 6) -> list[TopAccount]:
    """The divisions and partners directly under the scope's root, by roll-up available balance."""
    rows = await sql.fetch(TOP_SQL, *_scope_args(actor), limit)
    return [
        TopAccount(
            r["id"], r["name"], r["kind"], r["status"], r["currency"], int(r["n"]), int(r["available"])
        )
        for r in rows
    ]


# --- items needing action -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionItem:
    type: Literal["withdrawal", "topup"]
    id: str
    account_id: str
    account_name: str
    amount: int
    fee: int
    currency: str
    reference: str
    created_at: datetime
    expires_at: datetime | None


ACTIONS_SQL = f"""
(SELECT 'withdrawal' AS type, w.id, w.account_id, a.name AS account_name, w.amount, w.fee, w.currency,
        w.reference, w.created_at, NULL::timestamptz AS expires_at
 FROM withdrawal w JOIN account a ON a.id = w.account_id
 WHERE w.business_id = $1 AND w.status = 'pending' AND $3::bool AND {_in_scope("a")}
 ORDER BY w.created_at LIMIT $5)
UNION ALL
(SELECT 'topup', o.id, o.account_id, a.name, o.amount, o.fee, o.currency, o.reference, o.created_at,
        o.expires_at
 FROM topup o JOIN account a ON a.id = o.account_id
 WHERE o.business_id = $1 AND o.status = 'pending' AND o.expires_at > now() AND $4::bool
   AND {_in_scope("a")}
 ORDER BY o.created_at LIMIT $5)
"""


async def action_items(actor: Actor, limit: int = 5) -> list[ActionItem]:
    """Pending withdrawals (for payout managers) and unpaid top-ups (for those who see transfers)."""
    withdrawals = actor.can("payouts", "view")
    topups = actor.can("transfers", "view")
    if not (withdrawals or topups):
        return []
    rows = await sql.fetch(ACTIONS_SQL, *_scope_args(actor), withdrawals, topups, limit)
    return [ActionItem(**dict(r)) for r in rows]


# --- recent transfers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentTransfer:
    id: str
    created_at: datetime
    kind: str
    amount: int
    currency: str
    reference: str | None
    description: str | None
    from_id: str
    from_name: str
    from_visible: bool
    to_id: str
    to_name: str
    to_visible: bool

    @property
    def direction(self) -> Literal["in", "out", "internal"]:
        if self.from_visible and self.to_visible:
            return "internal"
        return "in" if self.to_visible else "out"


RECENT_SQL = f"""
SELECT t.id, t.created_at, t.kind, t.amount, t.currency, t.reference, t.description,
       t.debit_account_id AS from_id, d.name AS from_name, d.system_role AS from_role,
       ({_in_scope("d")}) AS from_visible,
       t.credit_account_id AS to_id, c.name AS to_name, c.system_role AS to_role,
       ({_in_scope("c")}) AS to_visible
FROM transfer t
JOIN account d ON d.id = t.debit_account_id
JOIN account c ON c.id = t.credit_account_id
WHERE t.business_id = $1 AND t.phase IN {POSTED_PHASES}
  AND (($2::text IS NULL AND (d.kind <> 'system' OR c.kind <> 'system'))
       OR ({_in_scope("d")}) OR ({_in_scope("c")}))
ORDER BY t.created_at DESC, t.seq DESC
LIMIT $3
"""


async def recent_transfers(actor: Actor, limit: int = 8) -> list[RecentTransfer]:
    """The latest posted movements touching the scope (newest first)."""
    rows = await sql.fetch(RECENT_SQL, *_scope_args(actor), limit)

    def name(prefix: str, r: Any) -> str:
        if r[f"{prefix}_role"]:
            return system_role_label(r[f"{prefix}_role"])
        return str(r[f"{prefix}_name"]) if r[f"{prefix}_visible"] else gettext("Another account")

    out = []
    for r in rows:
        out.append(
            RecentTransfer(
                r["id"],
                r["created_at"],
                r["kind"],
                int(r["amount"]),
                r["currency"],
                r["reference"],
                r["description"],
                r["from_id"],
                name("from", r),
                bool(r["from_visible"]),
                r["to_id"],
                name("to", r),
                bool(r["to_visible"]),
            )
        )
    return out
