"""Piccolo mirrors of the notification tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Text, Timestamptz
from piccolo.table import Table


class Notification(Table, tablename="notification"):
    seq = BigInt()
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    kind = Text()
    params = JSONB()
    link = Text()
    created_at = Timestamptz()


class NotificationRead(Table, tablename="notification_read"):
    notification_id = Text()
    user_id = Text()
    read_at = Timestamptz()
