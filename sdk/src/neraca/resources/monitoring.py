"""``client.monitoring_rules`` and ``client.alerts``: transaction monitoring, rules and their alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._base_client import (
    NOT_GIVEN,
    Call,
    ListCall,
    NotGiven,
    compact,
    given,
    model_parser,
    page_parser,
    path,
)
from ..models import NeracaObject
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = [
    "Alert",
    "Alerts",
    "AsyncAlerts",
    "AsyncMonitoringRules",
    "MonitoringRule",
    "MonitoringRules",
    "RuleTest",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringRule(NeracaObject):
    """A rule: a ``kind`` with its ``params``, a ``severity`` and an ``action`` (alert, review, block)."""

    id: str
    kind: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: str
    action: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleTest(NeracaObject):
    """How often a rule would have fired on the last ``days`` days of outgoing money."""

    rule_id: str | None = None
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    days: int
    operations: int
    would_fire: int
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(NeracaObject):
    """A rule that matched: its evidence (the operations, linked by id) and where it stands."""

    id: str
    rule_id: str | None = None
    rule_kind: str
    rule_name: str
    severity: str
    action: str
    status: str
    account_id: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    assignee_id: str | None = None
    resolution: str | None = None
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)


_rule = model_parser(MonitoringRule)
_test = model_parser(RuleTest)
_alert = model_parser(Alert)


def _rules_list(data: Any) -> list[MonitoringRule]:
    return [_rule(item) for item in data["data"]]


def _create(
    kind: str, params: dict[str, Any], request_id: str | None, **options: Any
) -> Call[MonitoringRule]:
    body = {"kind": kind, "params": params, **compact(options)}
    return Call("POST", "/monitoring_rules", _rule, body=body, request_id=request_id)


def _update(rule_id: str, **changes: Any) -> Call[MonitoringRule]:
    body = {k: v for k, v in given(changes).items() if v is not None}
    return Call("PATCH", path("/monitoring_rules/{}", rule_id), _rule, body=body)


def _test_call(
    rule_id: str | None, kind: str | None, params: dict[str, Any] | None, request_id: str | None
) -> Call[RuleTest]:
    if rule_id is not None:
        route, body = path("/monitoring_rules/{}/test", rule_id), compact({"params": params})
    else:
        route, body = "/monitoring_rules/test", compact({"kind": kind, "params": params or {}})
    return Call("POST", route, _test, body=body, request_id=request_id)


def _alerts(**filters: Any) -> ListCall[Alert]:
    return ListCall("/alerts", compact(filters), page_parser(Alert))


def _alert_action(alert_id: str, action: str, note: str | None, request_id: str | None) -> Call[Alert]:
    body = compact({"note": note})
    return Call("POST", path("/alerts/{}/" + action, alert_id), _alert, body=body, request_id=request_id)


class MonitoringRules(SyncResource):
    """Monitoring rules: list, retrieve, create, update, test."""

    def list(self) -> list[MonitoringRule]:
        """Every rule of the business (the defaults first)."""
        return self._client._request(Call("GET", "/monitoring_rules", _rules_list))

    def retrieve(self, rule_id: str) -> MonitoringRule:
        """One rule by id (``rul_...``)."""
        return self._client._request(Call("GET", path("/monitoring_rules/{}", rule_id), _rule))

    def create(
        self,
        *,
        kind: str,
        params: dict[str, Any],
        name: str | None = None,
        severity: str | None = None,
        action: str | None = None,
        enabled: bool | None = None,
        request_id: str | None = None,
    ) -> MonitoringRule:
        """A new rule of ``kind`` (``large_amount``, ``velocity_count``, ...) with its parameters."""
        return self._client._request(
            _create(kind, params, request_id, name=name, severity=severity, action=action, enabled=enabled)
        )

    def update(
        self,
        rule_id: str,
        *,
        params: dict[str, Any] | NotGiven = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        severity: str | NotGiven = NOT_GIVEN,
        action: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> MonitoringRule:
        """Tune (``params`` given are merged), rename, switch on/off, or change severity or action."""
        return self._client._request(
            _update(rule_id, params=params, name=name, severity=severity, action=action, enabled=enabled)
        )

    def test(
        self,
        rule_id: str | None = None,
        *,
        kind: str | None = None,
        params: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> RuleTest:
        """How often the rule (or a draft of ``kind``) with ``params`` would have fired in 30 days."""
        return self._client._request(_test_call(rule_id, kind, params, request_id))


class AsyncMonitoringRules(AsyncResource):
    """Monitoring rules: list, retrieve, create, update, test."""

    async def list(self) -> list[MonitoringRule]:
        """Every rule of the business (the defaults first)."""
        return await self._client._request(Call("GET", "/monitoring_rules", _rules_list))

    async def retrieve(self, rule_id: str) -> MonitoringRule:
        """One rule by id (``rul_...``)."""
        return await self._client._request(Call("GET", path("/monitoring_rules/{}", rule_id), _rule))

    async def create(
        self,
        *,
        kind: str,
        params: dict[str, Any],
        name: str | None = None,
        severity: str | None = None,
        action: str | None = None,
        enabled: bool | None = None,
        request_id: str | None = None,
    ) -> MonitoringRule:
        """A new rule of ``kind`` with its parameters."""
        return await self._client._request(
            _create(kind, params, request_id, name=name, severity=severity, action=action, enabled=enabled)
        )

    async def update(
        self,
        rule_id: str,
        *,
        params: dict[str, Any] | NotGiven = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        severity: str | NotGiven = NOT_GIVEN,
        action: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> MonitoringRule:
        """Tune, rename, switch on/off, or change severity or action."""
        return await self._client._request(
            _update(rule_id, params=params, name=name, severity=severity, action=action, enabled=enabled)
        )

    async def test(
        self,
        rule_id: str | None = None,
        *,
        kind: str | None = None,
        params: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> RuleTest:
        """How often the rule (or a draft of ``kind``) with ``params`` would have fired in 30 days."""
        return await self._client._request(_test_call(rule_id, kind, params, request_id))


class Alerts(SyncResource):
    """Monitoring alerts: list, retrieve, acknowledge, resolve."""

    def list(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        rule_kind: str | None = None,
        account_id: str | None = None,
        limit: int | None = None,
    ) -> SyncPager[Alert]:
        """Iterate alerts, newest first, filtered."""
        return self._client._pager(
            _alerts(status=status, severity=severity, rule_kind=rule_kind, account_id=account_id, limit=limit)
        )

    def retrieve(self, alert_id: str) -> Alert:
        """One alert with its evidence and notes."""
        return self._client._request(Call("GET", path("/alerts/{}", alert_id), _alert))

    def acknowledge(self, alert_id: str, *, note: str | None = None, request_id: str | None = None) -> Alert:
        """Someone is on it: open → acknowledged."""
        return self._client._request(_alert_action(alert_id, "acknowledge", note, request_id))

    def resolve(self, alert_id: str, *, note: str | None = None, request_id: str | None = None) -> Alert:
        """Close it; the note is kept as its resolution."""
        return self._client._request(_alert_action(alert_id, "resolve", note, request_id))


class AsyncAlerts(AsyncResource):
    """Monitoring alerts: list, retrieve, acknowledge, resolve."""

    def list(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        rule_kind: str | None = None,
        account_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Alert]:
        """Iterate alerts with ``async for``, newest first, filtered."""
        return self._client._pager(
            _alerts(status=status, severity=severity, rule_kind=rule_kind, account_id=account_id, limit=limit)
        )

    async def retrieve(self, alert_id: str) -> Alert:
        """One alert with its evidence and notes."""
        return await self._client._request(Call("GET", path("/alerts/{}", alert_id), _alert))

    async def acknowledge(
        self, alert_id: str, *, note: str | None = None, request_id: str | None = None
    ) -> Alert:
        """Someone is on it: open → acknowledged."""
        return await self._client._request(_alert_action(alert_id, "acknowledge", note, request_id))

    async def resolve(
        self, alert_id: str, *, note: str | None = None, request_id: str | None = None
    ) -> Alert:
        """Close it; the note is kept as its resolution."""
        return await self._client._request(_alert_action(alert_id, "resolve", note, request_id))
