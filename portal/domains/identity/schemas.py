"""API shapes for identity (msgspec)."""

from __future__ import annotations

import msgspec


class MeBusiness(msgspec.Struct):
    id: str
    name: str
    mode: str


class Me(msgspec.Struct):
    business: MeBusiness
    client_id: str
    name: str
    permissions: list[str]
    scope_account_id: str | None
