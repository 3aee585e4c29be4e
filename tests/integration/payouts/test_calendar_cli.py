"""`neraca payouts calendar` end to end: an override set from the CLI moves the ETA the API quotes."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.domains.payouts import services
from tests.support.cli import run_neraca


async def test_an_override_from_the_cli_changes_business_days(db: str, client: Any) -> None:
    env = {"DATABASE_URL": db}
    closed = run_neraca(
        "payouts", "calendar", "set", "2026-08-18", "--closed", "--note", "BI closure", env=env
    )
    assert closed.returncode == 0, closed.stderr
    opened = run_neraca("payouts", "calendar", "set", "2026-08-17", "--business-day", env=env)
    assert opened.returncode == 0, opened.stderr
    calendar = await services.load_calendar()
    assert calendar.is_business_day(date(2026, 8, 17)) and not calendar.is_business_day(date(2026, 8, 18))
    listed = run_neraca("payouts", "calendar", "list", "--year", "2026", env=env)
    assert "2026-08-18\tclosed\tBI closure" in listed.stdout
    cleared = run_neraca("payouts", "calendar", "clear", "2026-08-18", env=env)
    assert "override removed" in cleared.stdout
    bad = run_neraca("payouts", "calendar", "set", "18-08-2026", "--closed", env=env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert await services.calendar_overrides(2026) == [(date(2026, 8, 17), True, "")]
