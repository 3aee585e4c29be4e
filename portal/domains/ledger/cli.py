"""`neraca ledger verify`: check every ledger invariant; exit 1 on a violation."""

from __future__ import annotations

import asyncio
import sys

import click

from portal.cli.main import _bootstrap, friendly_errors
from portal.lib.sql import engine


@click.group()
def ledger() -> None:
    """Ledger maintenance commands."""


@ledger.command()
@friendly_errors
def verify() -> None:
    """Check the ledger invariants (docs/ledger.md); exit non-zero when any is violated."""
    _bootstrap()

    async def go() -> list[str]:
        from portal.domains.ledger.invariants import check_all

        await engine().start_connection_pool(min_size=1, max_size=2)
        try:
            return [f"{v.invariant}: {v.detail}" for v in await check_all()]
        finally:
            await engine().close_connection_pool()

    problems = asyncio.run(go())
    if problems:
        for line in problems:
            click.secho(line, fg="red", err=True)
        click.secho(f"{len(problems)} ledger invariant violation(s).", fg="red", err=True)
        sys.exit(1)
    click.echo("Ledger invariants hold.")


COMMANDS = [ledger]
