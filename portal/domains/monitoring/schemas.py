"""API shapes of monitoring rules, alerts and settlement holds (docs/monitoring.md)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from portal.lib.api_types import Timestamp


class RuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    params: dict[str, Any]
    name: str | None = None
    severity: Literal["low", "medium", "high"] = "medium"
    action: Literal["alert", "review", "block"] = "alert"
    enabled: bool = True


class RuleUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    params: dict[str, Any] | None = None
    severity: Literal["low", "medium", "high"] | None = None
    action: Literal["alert", "review", "block"] | None = None
    enabled: bool | None = None


class RuleTest(msgspec.Struct, forbid_unknown_fields=True):
    params: dict[str, Any] | None = None
    kind: str | None = None


class RuleOut(msgspec.Struct):
    id: str
    kind: str
    name: str
    params: dict[str, Any]
    severity: str
    action: str
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    object: str = "monitoring_rule"


class RuleList(msgspec.Struct):
    data: list[RuleOut]


class BacktestOut(msgspec.Struct):
    rule_id: str | None
    kind: str
    params: dict[str, Any]
    days: int
    operations: int
    would_fire: int
    examples: list[str]
    object: str = "rule_test"


class Evidence(msgspec.Struct):
    kind: str
    id: str
    amount: int | None = None
    at: str | None = None


class NoteOut(msgspec.Struct):
    id: str
    author_name: str
    body: str
    created_at: Timestamp


class AlertOut(msgspec.Struct):
    id: str
    rule_id: str | None
    rule_kind: str
    rule_name: str
    severity: str
    action: str
    status: str
    account_id: str | None
    object_kind: str | None
    object_id: str | None
    amount: int | None
    currency: str | None
    evidence: list[Evidence]
    assignee_id: str | None
    resolution: str | None
    created_at: Timestamp
    acknowledged_at: Timestamp | None
    resolved_at: Timestamp | None
    notes: list[NoteOut] = msgspec.field(default_factory=list)
    object: str = "alert"


class AlertPage(msgspec.Struct):
    data: list[AlertOut]
    has_more: bool
    next_cursor: str | None


class AlertAction(msgspec.Struct, forbid_unknown_fields=True):
    note: str | None = None


class AlertAssign(msgspec.Struct, forbid_unknown_fields=True):
    assignee_id: str | None = None


class AlertNote(msgspec.Struct, forbid_unknown_fields=True):
    body: str


class SettlementHoldOut(msgspec.Struct):
    id: str
    account_id: str
    alert_id: str | None
    reason: str
    held_at: Timestamp
    held_by: str
    released_at: Timestamp | None
    released_by: str | None
    object: str = "settlement_hold"


class SettlementHoldCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: str
    reason: str = ""
    alert_id: str | None = None


class SettingsOut(msgspec.Struct):
    recipients: list[str]
    object: str = "monitoring_settings"


class SettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    recipients: list[str]
