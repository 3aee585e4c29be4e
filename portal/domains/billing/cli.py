"""`neraca billing run`: the billing run by hand (the worker runs it every hour)."""

from __future__ import annotations

from datetime import date

import click

from portal.cli.main import friendly_errors


@click.group("billing")
def billing() -> None:
    """Card billing."""


@billing.command("run")
@click.option(
    "--day", default=None, help="Charge what is due up to this day (YYYY-MM-DD, default today WIB)."
)
@click.option("--business", default=None, help="Only this business id.")
@friendly_errors
def run(day: str | None, business: str | None) -> None:
    """Charge every due recurring billing once and announce the due reminders."""
    from portal.cli.support import run_with_database
    from portal.domains.billing import services

    when = date.fromisoformat(day) if day else None
    result = run_with_database(lambda: services.run_billing(day=when, business_id=business))
    click.echo(
        f"charged {result.charged}: paid {result.paid}, failed {result.failed}, "
        f"retrying {result.retrying}; reminders {result.reminded}"
    )


COMMANDS = [billing]
