"""Monitoring JSON API (/api/v1/monitoring_rules, /api/v1/alerts, /api/v1/settlement_holds): thin
controllers over monitoring.services."""

from __future__ import annotations

from typing import Any

from litestar import get, patch, post

from portal.domains.accounts import services as accounts
from portal.domains.monitoring.schemas import (
    AlertAction,
    AlertAssign,
    AlertNote,
    AlertOut,
    AlertPage,
    BacktestOut,
    RuleCreate,
    RuleList,
    RuleOut,
    RuleTest,
    RuleUpdate,
    SettingsOut,
    SettingsUpdate,
    SettlementHoldCreate,
    SettlementHoldOut,
)
from portal.domains.monitoring.services import alerts, rules, settlement
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}
RULES: dict[str, Any] = {"guards": [requires("monitoring")], "dependencies": DEPS, "tags": ["monitoring"]}
MANAGE: dict[str, Any] = {
    "guards": [requires("monitoring", "manage")],
    "dependencies": DEPS,
    "tags": ["monitoring"],
}
# Routes naming an object and taking a body: the object is looked up before the body is read.
ALERT_FIRST: dict[str, Any] = {**MANAGE, "before_request": object_first(alerts.find_alert, "alert_id")}
RULE_FIRST: dict[str, Any] = {**MANAGE, "before_request": object_first(rules.find_rule, "rule_id")}
RULE_VIEW_FIRST: dict[str, Any] = {**RULES, "before_request": object_first(rules.find_rule, "rule_id")}


@get("/api/v1/monitoring_rules", operation_id="list_monitoring_rules", **RULES)
async def list_monitoring_rules(actor: Actor) -> RuleList:
    """The business's monitoring rules."""
    return await rules.list_rules(actor)


@post("/api/v1/monitoring_rules", operation_id="create_monitoring_rule", **MANAGE)
async def create_monitoring_rule(actor: Actor, data: RuleCreate) -> RuleOut:
    """A new rule of a kind with its parameters, severity and action."""
    return await rules.create_rule(
        actor,
        kind=data.kind,
        params=data.params,
        name=data.name,
        severity=data.severity,
        action=data.action,
        enabled=data.enabled,
    )


@get("/api/v1/monitoring_rules/{rule_id:str}", operation_id="retrieve_monitoring_rule", **RULES)
async def retrieve_monitoring_rule(actor: Actor, rule_id: str) -> RuleOut:
    """One rule."""
    return await rules.get_rule(actor, rule_id)


@patch("/api/v1/monitoring_rules/{rule_id:str}", operation_id="update_monitoring_rule", **RULE_FIRST)
async def update_monitoring_rule(actor: Actor, rule_id: str, data: RuleUpdate) -> RuleOut:
    """Tune, rename, switch on/off, or change the severity or action of a rule."""
    changes: dict[str, Any] = {
        k: getattr(data, k)
        for k in ("name", "params", "severity", "action", "enabled")
        if getattr(data, k) is not None
    }
    return await rules.update_rule(actor, rule_id, changes)


@post(
    "/api/v1/monitoring_rules/{rule_id:str}/test",
    operation_id="test_monitoring_rule",
    status_code=200,
    **RULE_VIEW_FIRST,
)
async def test_monitoring_rule(actor: Actor, rule_id: str, data: RuleTest) -> BacktestOut:
    """How often the rule (with `params` as a draft, if given) would have fired in the last 30 days."""
    return await rules.test_rule(actor, rule_id=rule_id, params=data.params)


@post("/api/v1/monitoring_rules/test", operation_id="test_draft_monitoring_rule", status_code=200, **RULES)
async def test_draft_monitoring_rule(actor: Actor, data: RuleTest) -> BacktestOut:
    """How often a draft rule of `kind` with `params` would have fired in the last 30 days."""
    return await rules.test_rule(actor, kind=data.kind, params=data.params or {})


@get("/api/v1/monitoring_settings", operation_id="retrieve_monitoring_settings", **RULES)
async def retrieve_monitoring_settings(actor: Actor) -> SettingsOut:
    """Who is e-mailed about new alerts."""
    return await rules.get_settings(actor)


@post("/api/v1/monitoring_settings", operation_id="update_monitoring_settings", status_code=200, **MANAGE)
async def update_monitoring_settings(actor: Actor, data: SettingsUpdate) -> SettingsOut:
    """Set the monitoring recipients (at most 20 addresses)."""
    return await rules.set_recipients(actor, data.recipients)


@get("/api/v1/alerts", operation_id="list_alerts", **RULES)
async def list_alerts(
    actor: Actor,
    status: str | None = None,
    severity: str | None = None,
    rule_kind: str | None = None,
    account_id: str | None = None,
    assignee_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> AlertPage:
    """Alerts in scope, newest first, filtered, cursor-paginated."""
    return await alerts.list_alerts(
        actor,
        status=status,
        severity=severity,
        rule_kind=rule_kind,
        account_id=account_id,
        assignee_id=assignee_id,
        limit=limit,
        after=after,
    )


@get("/api/v1/alerts/{alert_id:str}", operation_id="retrieve_alert", **RULES)
async def retrieve_alert(actor: Actor, alert_id: str) -> AlertOut:
    """One alert with its evidence and notes."""
    return await alerts.get_alert(actor, alert_id)


@post(
    "/api/v1/alerts/{alert_id:str}/acknowledge",
    operation_id="acknowledge_alert",
    status_code=200,
    **ALERT_FIRST,
)
async def acknowledge_alert(actor: Actor, alert_id: str, data: AlertAction | None = None) -> AlertOut:
    """open → acknowledged, with an optional note."""
    return await alerts.acknowledge(actor, alert_id, data.note if data else None)


@post("/api/v1/alerts/{alert_id:str}/resolve", operation_id="resolve_alert", status_code=200, **ALERT_FIRST)
async def resolve_alert(actor: Actor, alert_id: str, data: AlertAction | None = None) -> AlertOut:
    """Close the alert; the note is kept as its resolution."""
    return await alerts.resolve(actor, alert_id, data.note if data else None)


@post("/api/v1/alerts/{alert_id:str}/assign", operation_id="assign_alert", status_code=200, **ALERT_FIRST)
async def assign_alert(actor: Actor, alert_id: str, data: AlertAssign) -> AlertOut:
    """Give the alert to a user of the business (null: nobody)."""
    return await alerts.assign(actor, alert_id, data.assignee_id)


@post("/api/v1/alerts/{alert_id:str}/notes", operation_id="add_alert_note", status_code=200, **ALERT_FIRST)
async def add_alert_note(actor: Actor, alert_id: str, data: AlertNote) -> AlertOut:
    """Add a note."""
    return await alerts.add_note(actor, alert_id, data.body)


@post(
    "/api/v1/alerts/{alert_id:str}/freeze_account",
    operation_id="freeze_alert_account",
    status_code=200,
    **ALERT_FIRST,
)
async def freeze_alert_account(actor: Actor, alert_id: str) -> AlertOut:
    """Freeze the alert's account (needs the accounts manage right too)."""
    return await alerts.freeze_account(actor, alert_id)


@get("/api/v1/settlement_holds", operation_id="list_settlement_holds", **RULES)
async def list_settlement_holds(actor: Actor) -> list[SettlementHoldOut]:
    """Open settlement holds in scope."""
    return await settlement.list_holds(actor)


@post("/api/v1/settlement_holds", operation_id="hold_settlement", **MANAGE)
async def hold_settlement(actor: Actor, data: SettlementHoldCreate) -> SettlementHoldOut:
    """Hold an account's settlement (its settlement batches wait) until released."""
    return await settlement.hold_settlement(
        actor, data.account_id, reason=data.reason, alert_id=data.alert_id
    )


@post(
    "/api/v1/settlement_holds/{account_id:str}/release",
    operation_id="release_settlement",
    status_code=200,
    **MANAGE,
    before_request=object_first(accounts.find_account, "account_id"),
)
async def release_settlement(actor: Actor, account_id: str) -> SettlementHoldOut:
    """Release the account's settlement hold."""
    return await settlement.release_settlement(actor, account_id)


ROUTES = [
    list_monitoring_rules,
    create_monitoring_rule,
    test_draft_monitoring_rule,
    retrieve_monitoring_rule,
    update_monitoring_rule,
    test_monitoring_rule,
    retrieve_monitoring_settings,
    update_monitoring_settings,
    list_alerts,
    retrieve_alert,
    acknowledge_alert,
    resolve_alert,
    assign_alert,
    add_alert_note,
    freeze_alert_account,
    list_settlement_holds,
    hold_settlement,
    release_settlement,
]
