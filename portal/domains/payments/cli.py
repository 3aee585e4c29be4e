"""`neraca payments settle --date …`: create (and apply) settlement batches from the provider's reports."""

from __future__ import annotations

import json
from datetime import date

import click

from portal.cli.main import friendly_errors


@click.group("payments")
def payments() -> None:
    """Payments received and their settlement."""


@payments.command("settle")
@click.option("--date", "day", required=True, help="The business day of the payments (YYYY-MM-DD).")
@click.option("--business", "business_id", default=None, help="One business (default: every business).")
@click.option(
    "--apply",
    "apply",
    type=click.Choice(["due", "all", "none"]),
    default="due",
    show_default=True,
    help="Apply the batches due today, every batch of that day, or none.",
)
@friendly_errors
def settle(day: str, business_id: str | None, apply: str) -> None:
    """Create the settlement batches of DATE per channel, then apply them; prints what was done (JSON)."""
    from portal.cli.support import run_with_database
    from portal.domains.payments import services

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD).", param_hint="--date") from None
    done = run_with_database(lambda: services.settle(when, business_id, apply=apply))
    click.echo(json.dumps(done))


COMMANDS = [payments]
