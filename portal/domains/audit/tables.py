"""Piccolo mirrors of the audit tables (the schema itself is the SQL migration)."""

from piccolo.columns import JSONB, BigInt, Text, Timestamptz
from piccolo.table import Table


class Activity(Table, tablename="activity"):
    chain = Text()
    seq = BigInt()
    business_id = Text(null=True)
    occurred_at = Timestamptz()
    actor_kind = Text()
    actor_id = Text(null=True)
    actor_name = Text()
    ip = Text(null=True)
    user_agent = Text(null=True)
    action = Text()
    summary = Text()
    refs = JSONB()
    search = Text()
    prev_hash = Text()
    hash = Text()


class ActivityChainHead(Table, tablename="activity_chain_head"):
    chain = Text(primary_key=True)
    seq = BigInt()
    hash = Text()
