"""Monitoring pages: the alert queue (filters, a live badge in the sidebar), an alert with its evidence,
notes and actions (acknowledge, resolve, freeze the account, hold and release its settlement), the
rules with their parameters and a 30-day test, and the alert recipients. Thin controllers over
monitoring.services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from portal.domains.monitoring import labels
from portal.domains.monitoring.services import alerts, kinds, rules, settlement
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError
from portal.lib.i18n import gettext
from portal.server.forms import field_errors, handle_form, pages_router, posted, query
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

VIEW = [requires("monitoring")]
MANAGE = [requires("monitoring", "manage")]


@get("/monitoring", operation_id="monitoring_alerts", guards=VIEW)
async def alert_queue(
    request: Request[Any, Any, Any],
    actor: Actor,
    status: str | None = "open",
    severity: str | None = None,
    rule_kind: str | None = None,
    after: str | None = None,
) -> Response[str]:
    listing = await alerts.list_alerts(
        actor, status=status or None, severity=severity or None, rule_kind=rule_kind or None, after=after
    )
    context = {
        "alerts": listing.data,
        "next_url": query(
            "/monitoring", status=status, severity=severity, rule_kind=rule_kind, after=listing.next_cursor
        )
        if listing.has_more
        else None,
        "filters": {"status": status or "", "severity": severity or "", "rule_kind": rule_kind or ""},
        "statuses": alerts.STATUSES,
        "severities": kinds.SEVERITIES,
        "kinds": list(kinds.KINDS),
        "holds": await settlement.list_holds(actor),
    }
    return page(request, "monitoring/alerts.html", context)


@get("/monitoring/badge", operation_id="monitoring_badge", guards=VIEW)
async def badge(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return page(
        request, "monitoring/_badge.html", {"open_alerts": await alerts.open_count(actor)}, block="badge"
    )


async def _alert_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    alert_id: str,
    *,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response[str]:
    alert = await alerts.get_alert(actor, alert_id)
    held = bool(alert.account_id) and await settlement.is_settlement_held(
        actor.business_id, alert.account_id or ""
    )
    context = {
        "alert": alert,
        "held": held,
        "can_manage": actor.can("monitoring", "manage"),
        "errors": errors or {},
    }
    return page(request, "monitoring/alert.html", context, status_code=status_code)


@get("/monitoring/alerts/{alert_id:str}", operation_id="monitoring_alert", guards=VIEW)
async def alert_detail(request: Request[Any, Any, Any], actor: Actor, alert_id: str) -> Response[str]:
    return await _alert_page(request, actor, alert_id)


@post("/monitoring/alerts/{alert_id:str}/{action:str}", operation_id="monitoring_alert_action", guards=MANAGE)
async def alert_action(
    request: Request[Any, Any, Any], actor: Actor, alert_id: str, action: str
) -> Response[Any]:
    await alerts.find_alert(actor, alert_id)

    async def act(fields: dict[str, str]) -> object:
        note = fields.get("note", "")
        if action == "acknowledge":
            return await alerts.acknowledge(actor, alert_id, note)
        if action == "resolve":
            return await alerts.resolve(actor, alert_id, note)
        if action == "note":
            return await alerts.add_note(actor, alert_id, note)
        if action == "freeze":
            return await alerts.freeze_account(actor, alert_id)
        alert = await alerts.get_alert(actor, alert_id)
        if action == "hold" and alert.account_id:
            return await settlement.hold_settlement(actor, alert.account_id, reason=note, alert_id=alert_id)
        if action == "release" and alert.account_id:
            return await settlement.release_settlement(actor, alert.account_id)
        from portal.lib.errors import NotFound

        raise NotFound(gettext("Not found"))

    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _alert_page(
            request, actor, alert_id, errors=errors or {"__all__": [message]}, status_code=422
        )

    return await handle_form(request, act, render=render, success=lambda _: f"/monitoring/alerts/{alert_id}")


async def _rules_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    edit: str | None = None,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[str]:
    listing = await rules.list_rules(actor)
    context = {
        "rules": listing.data,
        "params": {kind: list(spec) for kind, spec in kinds.KINDS.items()},
        "severity_options": [(s, labels.severity(s)) for s in kinds.SEVERITIES],
        "action_options": [(a, labels.rule_action(a)) for a in kinds.ACTIONS],
        "edit": edit,
        "form": form or {},
        "errors": errors or {},
        "can_manage": actor.can("monitoring", "manage") and actor.scope_account_id is None,
        "recipients": ", ".join((await rules.get_settings(actor)).recipients),
    }
    return page(request, "monitoring/rules.html", context, status_code=status_code)


@get("/monitoring/rules", operation_id="monitoring_rules", guards=VIEW)
async def rule_list(request: Request[Any, Any, Any], actor: Actor, edit: str | None = None) -> Response[str]:
    return await _rules_page(request, actor, edit=edit)


def _changes(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    params = {
        p.name: fields.get(p.name, "").replace(".", "").replace(",", "").strip() for p in kinds.KINDS[kind]
    }
    return {
        "name": fields.get("name"),
        "params": params,
        "severity": fields.get("severity"),
        "action": fields.get("action"),
        "enabled": fields.get("enabled") == "1",
    }


@post("/monitoring/rules/{rule_id:str}", operation_id="monitoring_rule_save", guards=MANAGE)
async def rule_save(request: Request[Any, Any, Any], actor: Actor, rule_id: str) -> Response[Any]:
    rule = await rules.get_rule(actor, rule_id)

    async def save(fields: dict[str, str]) -> object:
        return await rules.update_rule(actor, rule_id, _changes(rule.kind, fields))

    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _rules_page(request, actor, edit=rule_id, errors=errors, form=fields, status_code=422)

    return await handle_form(request, save, render=render, success=lambda _: "/monitoring/rules")


@post("/monitoring/rules/{rule_id:str}/test", operation_id="monitoring_rule_test", guards=VIEW)
async def rule_test(request: Request[Any, Any, Any], actor: Actor, rule_id: str) -> Response[str]:
    rule = await rules.get_rule(actor, rule_id)
    fields = await posted(request)
    try:
        result = await rules.test_rule(actor, rule_id=rule_id, params=_changes(rule.kind, fields)["params"])
    except NeracaError as exc:
        if exc.status not in (409, 422, 503):
            raise
        errors = field_errors(exc.errors or [FieldError("", exc.detail)], exc.detail)
        return page(
            request,
            "monitoring/_test.html",
            {"result": None, "errors": errors},
            status_code=422,
            block="result",
        )
    return page(request, "monitoring/_test.html", {"result": result, "errors": {}}, block="result")


@post("/monitoring/settings", operation_id="monitoring_settings", guards=MANAGE)
async def settings_save(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def save(fields: dict[str, str]) -> object:
        return await rules.set_recipients(actor, fields.get("recipients", ""))

    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _rules_page(request, actor, errors={"recipients": [message]}, status_code=422)

    return await handle_form(request, save, render=render, success=lambda _: "/monitoring/rules")


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [alert_queue, badge, alert_detail, alert_action, rule_list, rule_save, rule_test, settings_save],
    )
]
