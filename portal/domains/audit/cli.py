"""`neraca audit verify`: walk every hash chain of the activity log."""

from __future__ import annotations

import sys

import click

from portal.cli.main import friendly_errors


@click.group("audit")
def audit() -> None:
    """The activity log."""


@audit.command("verify")
@friendly_errors
def verify() -> None:
    """Recompute the hash chains; name the first altered or missing row and exit 1 if any."""
    from portal.cli.support import run_with_database
    from portal.domains.audit import services

    checked, problems = run_with_database(services.verify)
    if problems:
        for problem in problems:
            click.secho(problem.message, fg="red", err=True)
        sys.exit(1)
    click.echo(f"The activity log is intact: {checked} row(s) checked.")


COMMANDS = [audit]
