"""`neraca payouts calendar …`: the platform operator's overrides of the business-day calendar."""

from __future__ import annotations

from datetime import date

import click

from portal.cli.main import friendly_errors


@click.group("payouts")
def payouts() -> None:
    """Payout rails and business days."""


@payouts.group("calendar")
def calendar() -> None:
    """Overrides of the Indonesian business-day calendar (each year's joint-leave decree, BI closures)."""


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD).") from None


@calendar.command("set")
@click.argument("day")
@click.option("--business-day/--closed", "is_business_day", required=True, help="Open or closed that day.")
@click.option("--note", default="", help="Why (e.g. the decree's number).")
@friendly_errors
def set_override(day: str, is_business_day: bool, note: str) -> None:
    """Make DAY (YYYY-MM-DD) a business day or a closed day."""
    from portal.cli.support import run_with_database
    from portal.domains.payouts import services

    when = _day(day)
    run_with_database(lambda: services.set_calendar_override(when, is_business_day, note))
    click.echo(f"{when}: {'business day' if is_business_day else 'closed'}.")


@calendar.command("clear")
@click.argument("day")
@friendly_errors
def clear_override(day: str) -> None:
    """Remove the override of DAY: the holiday calendar decides again."""
    from portal.cli.support import run_with_database
    from portal.domains.payouts import services

    when = _day(day)
    removed = run_with_database(lambda: services.clear_calendar_override(when))
    click.echo(f"{when}: override removed." if removed else f"{when}: there was no override.")


@calendar.command("list")
@click.option("--year", type=int, default=None)
@friendly_errors
def list_overrides(year: int | None) -> None:
    """The overrides, by day."""
    from portal.cli.support import run_with_database
    from portal.domains.payouts import services

    for day, open_, note in run_with_database(lambda: services.calendar_overrides(year)):
        click.echo(f"{day}\t{'business day' if open_ else 'closed'}\t{note}")


COMMANDS = [payouts]
