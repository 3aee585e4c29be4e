"""A saved custom report e-mailed on a schedule: set through the API (bad fields refused on the field),
delivered at its occurrence (WIB) exactly once with two runners, to the business's active users with the
reports right whose scope covers the report's (never a user without the right, a locked one or one scoped
elsewhere), with the XLSX file attached through the SMTP sink; the next occurrence follows the rrule; the
change is in the activity log; stopping it stops the e-mails; another business gets 404."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.domains.identity import mail
from portal.domains.reports.custom import schedule
from portal.lib import clock, sql
from portal.lib.ids import new_id
from portal.settings import get_settings
from tests.support.ledger import ALL, fund, make_api

RIGHTS = ALL | {"reports:manage"}
# Tuesday 1 December 2026, 08:00 WIB.
START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def _user(
    business_id: str, name: str, rights: list[str], *, scope: str | None = None, **kw: Any
) -> str:
    await sql.execute(
        "INSERT INTO app_user (id, business_id, username, full_name, email, role, rights, scope_account_id, "
        "status, language) VALUES ($1, $2, $3, $3, $4, 'custom', $5, $6, $7, $8)",
        new_id("usr"),
        business_id,
        f"{name}{new_id('u')[-6:]}",
        f"{name}@example.com",
        rights,
        scope,
        kw.get("status", "active"),
        kw.get("language", "en"),
    )
    return f"{name}@example.com"


def test_occurrences_follow_the_rrule_in_wib() -> None:
    daily = {"frequency": "daily", "time": "09:30", "format": "csv"}
    assert schedule.next_occurrence(daily, START) == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert schedule.next_occurrence(daily, datetime(2026, 12, 1, 2, 30, tzinfo=UTC)) == datetime(
        2026, 12, 2, 2, 30, tzinfo=UTC
    )
    weekly = {"frequency": "weekly", "time": "07:00", "weekday": 0, "format": "csv"}  # Mondays
    assert schedule.next_occurrence(weekly, START) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    monthly = {"frequency": "monthly", "time": "06:00", "day": 1, "format": "xlsx"}  # 06:00 WIB = 23:00 UTC
    assert schedule.next_occurrence(monthly, START) == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


async def test_scheduled_report_is_mailed_once_per_occurrence(
    client: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, business = await make_api(client, RIGHTS)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    branch = (
        await api.call("POST", "/api/v1/accounts", {"name": "Jakarta", "kind": "division", "parent_id": main})
    ).json()["id"]
    other = (
        await api.call("POST", "/api/v1/accounts", {"name": "Bandung", "kind": "division", "parent_id": main})
    ).json()["id"]
    await fund(business.id, branch, 500_000)
    owner_email = await sql.fetchval("SELECT email FROM app_user WHERE business_id = $1", business.id)
    viewer = await _user(business.id, "viewer", ["reports:view"], language="id")
    await _user(business.id, "clerk", ["transfers:manage"])
    await _user(business.id, "locked", ["reports:view"], status="locked")
    await _user(business.id, "branchonly", ["reports:view"], scope=other)
    spec = {"dataset": "transfers", "columns": ["to_account_id", "amount"]}

    clock.set_clock(lambda: START)
    try:
        bad = await api.call(
            "POST",
            "/api/v1/reports",
            {"name": "Daily", "spec": spec, "schedule": {"frequency": "weekly", "weekday": 9}},
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/schedule/weekday", bad.text
        saved = await api.call(
            "POST",
            "/api/v1/reports",
            {"name": "Daily transfers", "spec": spec, "schedule": {"frequency": "daily", "time": "09:30"}},
        )
        assert saved.status_code == 201, saved.text
        report_id = saved.json()["id"]
        changed = await api.call(
            "POST",
            f"/api/v1/reports/{report_id}/schedule",
            {"schedule": {"frequency": "daily", "time": "09:30", "format": "xlsx"}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["schedule"] == {"frequency": "daily", "time": "09:30", "format": "xlsx"}
        assert changed.json()["schedule_next_at"].startswith("2026-12-01T02:30:00")
        theirs, _ = await make_api(client, RIGHTS)
        hidden = await theirs.call("POST", f"/api/v1/reports/{report_id}/schedule", {"schedule": None})
        assert hidden.status_code == 404
    finally:
        clock.set_clock(None)

    due = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert await schedule.run_due(due - timedelta(seconds=1)) == 0
    assert sum(await asyncio.gather(schedule.run_due(due), schedule.run_due(due))) == 1
    assert await schedule.run_due(due + timedelta(minutes=5)) == 0
    deliveries = await sql.fetch(
        "SELECT occurrence, recipients, file_name FROM report_delivery WHERE business_id = $1", business.id
    )
    assert [(d["occurrence"], d["recipients"], d["file_name"]) for d in deliveries] == [
        (due, 2, "daily-transfers.xlsx")
    ]

    mails = await sql.fetch(
        "SELECT id, to_address, subject FROM email_outbox WHERE business_id = $1 AND attachment IS NOT NULL "
        "ORDER BY to_address",
        business.id,
    )
    assert sorted(m["to_address"] for m in mails) == sorted([owner_email, viewer])
    monkeypatch.setenv("NERACA_SMTP_HOST", smtp_sink.host)
    monkeypatch.setenv("NERACA_SMTP_PORT", str(smtp_sink.port))
    get_settings.cache_clear()
    try:
        for m in mails:
            assert await mail.send(m["id"]) == "sent"
    finally:
        monkeypatch.delenv("NERACA_SMTP_HOST")
        monkeypatch.delenv("NERACA_SMTP_PORT")
        get_settings.cache_clear()
    received = {m["To"]: m for m in smtp_sink.messages}
    assert set(received) == {owner_email, viewer}
    files = [p for p in received[viewer].iter_attachments()]
    assert [p.get_filename() for p in files] == ["daily-transfers.xlsx"]
    assert files[0].get_content()[:2] == b"PK"
    assert received[viewer]["Subject"].startswith("Laporan Daily transfers")
    assert received[owner_email]["Subject"] == "Report Daily transfers, 2026-12-01 09:30 WIB"

    # The next day's occurrence goes once more; stopped, nothing more goes.
    assert await schedule.run_due(due + timedelta(days=1)) == 1
    clock.set_clock(lambda: START + timedelta(days=1))
    try:
        stopped = await api.call("POST", f"/api/v1/reports/{report_id}/schedule", {"schedule": None})
    finally:
        clock.set_clock(None)
    assert stopped.status_code == 200 and stopped.json()["schedule_next_at"] is None
    assert await schedule.run_due(due + timedelta(days=30)) == 0
    assert await sql.fetchval("SELECT count(*) FROM report_delivery WHERE business_id = $1", business.id) == 2
    logged = await sql.fetch(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'report.scheduled' ORDER BY seq",
        business.id,
    )
    assert [r["summary"] for r in logged] == [
        "Scheduled report Daily transfers: every day at 09:30 WIB as CSV",
        "Scheduled report Daily transfers: every day at 09:30 WIB as XLSX",
        "Stopped the schedule of report Daily transfers",
    ]
