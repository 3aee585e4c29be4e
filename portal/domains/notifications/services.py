"""Notifications: news about an account, shown to every user whose scope holds that account.

Rows store a kind and parameters; the sentence is built in the reader's language when shown. Read
state is per user. The unread count is what the bell polls. Repeats (the same kind about the same
account and object within `GROUP_WINDOW` of the newest) are listed as one row with a count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import NotFound
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.money import format_money

# Repeats of one kind about one account and object this close to the newest of them read as one row.
GROUP_WINDOW = timedelta(hours=1)
# Rows read to build the newest groups of the list (a group never spans more than this many rows).
GROUP_SCAN = 1000


@dataclass(frozen=True)
class NotificationItem:
    """One row of the list: the newest notification of a group of repeats, with how many there are."""

    id: str
    kind: str
    message: str
    link: str
    account_id: str
    account_name: str
    created_at: datetime
    read: bool
    count: int = 1


async def notify(business_id: str, account_id: str, kind: str, params: dict[str, Any], link: str = "") -> str:
    """Record news about `account_id` (inside the caller's transaction when one is open)."""
    notification_id = new_id("ntf")
    await sql.execute(
        "INSERT INTO notification (id, business_id, account_id, kind, params, link) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        notification_id,
        business_id,
        account_id,
        kind,
        json.dumps(params, default=str),
        link,
    )
    return notification_id


async def notify_many(items: list[tuple[str, str, str, dict[str, Any], str]]) -> None:
    """Several notifications (business_id, account_id, kind, params, link) in one statement."""
    if not items:
        return
    await sql.execute(
        "INSERT INTO notification (id, business_id, account_id, kind, params, link) "
        "SELECT i, b, a, k, p::jsonb, l FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
        "$5::text[], $6::text[]) AS t(i, b, a, k, p, l)",
        [new_id("ntf") for _ in items],
        [x[0] for x in items],
        [x[1] for x in items],
        [x[2] for x in items],
        [json.dumps(x[3], default=str) for x in items],
        [x[4] for x in items],
    )


def message(kind: str, params: dict[str, Any], locale: str = "en") -> str:
    """The sentence for a notification, in the current language."""
    amount = format_money(int(params.get("amount", 0)), str(params.get("currency", "IDR")), locale)
    if kind == "transfer.received" and params.get("from_account_name"):
        return gettext("%(to)s received %(amount)s from %(from)s (reference %(reference)s).") % {
            "amount": amount,
            "to": params.get("to_account_name", ""),
            "from": params.get("from_account_name", ""),
            "reference": params.get("reference", ""),
        }
    if kind == "transfer.received":
        return gettext("You received %(amount)s (reference %(reference)s).") % {
            "amount": amount,
            "reference": params.get("reference", ""),
        }
    if kind == "topup.paid":
        return gettext("Top-up %(reference)s of %(amount)s was paid.") % {
            "amount": amount,
            "reference": params.get("reference", ""),
        }
    if kind == "withdrawal.paid":
        return gettext("Withdrawal %(reference)s of %(amount)s was paid to the bank.") % {
            "amount": amount,
            "reference": params.get("reference", ""),
        }
    if kind == "withdrawal.failed":
        return gettext("Withdrawal %(reference)s of %(amount)s failed and the money is back: %(reason)s") % {
            "amount": amount,
            "reference": params.get("reference", ""),
            "reason": params.get("reason", ""),
        }
    if kind == "invoice.payment_failed":
        return gettext(
            "Invoice %(number)s of %(amount)s could not be collected; it is retried on %(retry_on)s."
        ) % {
            "amount": amount,
            "number": params.get("number", ""),
            "retry_on": params.get("retry_on", ""),
        }
    if kind == "invoice.overdue":
        return gettext("Invoice %(number)s of %(amount)s is overdue: the last collection attempt failed.") % {
            "amount": amount,
            "number": params.get("number", ""),
        }
    if kind == "payout.succeeded":
        return gettext("Payout %(reference)s of %(amount)s reached the beneficiary.") % {
            "amount": amount,
            "reference": params.get("reference", ""),
        }
    if kind == "payout.failed":
        return gettext("Payout %(reference)s of %(amount)s failed and the money is back: %(reason)s") % {
            "amount": amount,
            "reference": params.get("reference", ""),
            "reason": params.get("reason", ""),
        }
    if kind == "payout.reversed":
        return gettext("Payout %(reference)s of %(amount)s was returned by the bank and booked back.") % {
            "amount": amount,
            "reference": params.get("reference", ""),
        }
    if kind == "webhook_endpoint.disabled":
        if params.get("reason") == "gone":
            return gettext("Webhook endpoint %(url)s answered 410 Gone and was disabled.") % {
                "url": params.get("url", "")
            }
        return gettext("Webhook endpoint %(url)s failed for 3 days and was disabled.") % {
            "url": params.get("url", "")
        }
    return kind


def _visible(actor: Actor, args: list[Any]) -> str:
    args.append(actor.business_id)
    clause = f"n.business_id = ${len(args)}"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        clause += f" AND a.path LIKE ${len(args)}"
    return clause


async def unread_count(actor: Actor) -> int:
    if not actor.user_id:
        return 0
    args: list[Any] = [actor.user_id]
    clause = _visible(actor, args)
    value = await sql.fetchval(
        "SELECT count(*) FROM notification n JOIN account a ON a.id = n.account_id "
        f"WHERE {clause} AND NOT EXISTS (SELECT 1 FROM notification_read r WHERE r.user_id = $1 "
        "AND r.notification_id = n.id)",
        *args,
    )
    return int(value or 0)


async def list_for(actor: Actor, *, limit: int = 50, locale: str = "en") -> list[NotificationItem]:
    """The newest notifications the actor may see, repeats grouped (same kind, account and link within
    `GROUP_WINDOW` of the group's newest: one row with their count, read when all of them are)."""
    args: list[Any] = [actor.user_id or ""]
    clause = _visible(actor, args)
    args.append(GROUP_SCAN)
    rows = await sql.fetch(
        "SELECT n.id, n.kind, n.params, n.link, n.account_id, a.name AS account_name, n.created_at, "
        "EXISTS (SELECT 1 FROM notification_read r WHERE r.user_id = $1 "
        "AND r.notification_id = n.id) AS read "
        f"FROM notification n JOIN account a ON a.id = n.account_id WHERE {clause} "
        f"ORDER BY n.seq DESC LIMIT ${len(args)}",
        *args,
    )
    groups: list[dict[str, Any]] = []
    open_group: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:  # newest first
        key = (r["kind"], r["account_id"], r["link"])
        group = open_group.get(key)
        if group is not None and group["newest"]["created_at"] - r["created_at"] <= GROUP_WINDOW:
            group["count"] += 1
            group["read"] = group["read"] and bool(r["read"])
            continue
        group = {"newest": r, "count": 1, "read": bool(r["read"])}
        open_group[key] = group
        groups.append(group)
    items = []
    for group in groups[:limit]:
        r = group["newest"]
        params = r["params"] if isinstance(r["params"], dict) else json.loads(r["params"] or "{}")
        items.append(
            NotificationItem(
                r["id"],
                r["kind"],
                message(r["kind"], params, locale),
                r["link"],
                r["account_id"],
                r["account_name"],
                r["created_at"],
                group["read"],
                group["count"],
            )
        )
    return items


async def mark_read(actor: Actor, notification_id: str | None = None) -> int:
    """Mark one notification with the repeats it groups (the list's row; or, with None, all visible
    ones) read for this user; returns how many."""
    if not actor.user_id:
        return 0
    args: list[Any] = [actor.user_id]
    clause = _visible(actor, args)
    if notification_id is not None:
        args.extend([notification_id, GROUP_WINDOW])
        # The row's repeats: same kind, account and link, up to GROUP_WINDOW older (as list_for groups).
        clause += (
            f" AND EXISTS (SELECT 1 FROM notification g WHERE g.id = ${len(args) - 1} "
            "AND g.business_id = n.business_id AND g.kind = n.kind AND g.account_id = n.account_id "
            f"AND g.link = n.link AND n.created_at <= g.created_at "
            f"AND n.created_at >= g.created_at - ${len(args)}::interval)"
        )
    status = await sql.execute(
        "INSERT INTO notification_read (notification_id, user_id) "
        f"SELECT n.id, $1 FROM notification n JOIN account a ON a.id = n.account_id WHERE {clause} "
        "ON CONFLICT DO NOTHING",
        *args,
    )
    count = int(status.split()[-1]) if status else 0
    if notification_id is not None and count == 0:
        exists = await sql.fetchval(
            "SELECT 1 FROM notification_read WHERE user_id = $1 AND notification_id = $2",
            actor.user_id,
            notification_id,
        )
        if not exists:
            raise NotFound(gettext("Notification %(id)s was not found.") % {"id": notification_id})
    return count
