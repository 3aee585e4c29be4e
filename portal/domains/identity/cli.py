"""`neraca business create` and `neraca api-keys create`."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from portal.cli.main import friendly_errors
from portal.cli.support import run_with_database

T = TypeVar("T")


@click.group("business")
def business() -> None:
    """Businesses (tenants)."""


@business.command("create")
@click.option("--name", required=True, help="The business's name.")
@click.option("--owner-username", required=True, help="Username of the first owner.")
@click.option("--owner-email", required=True, help="E-mail address of the first owner.")
@click.option("--owner-name", default="", help="Full name of the first owner (defaults to the username).")
@click.option("--mode", type=click.Choice(["sandbox", "live"]), default="sandbox", show_default=True)
@click.option("--language", type=click.Choice(["en", "id"]), default="en", show_default=True)
@friendly_errors
def business_create(
    name: str, owner_username: str, owner_email: str, owner_name: str, mode: str, language: str
) -> None:
    """Create a business and its owner; prints the owner's one-time enrolment link (valid 24 h)."""
    from portal.domains.identity import services

    async def work() -> Any:
        return await services.create_business(
            name=name,
            owner_username=owner_username,
            owner_email=owner_email,
            owner_full_name=owner_name,
            mode=mode,
            default_language=language,
        )

    created, owner, link = run_with_database(work)
    click.echo(f"Business {created.name} created: {created.id} ({created.mode}).")
    click.echo(f"Owner {owner.username} enrols once, within 24 hours, at:")
    click.echo(link)


@click.group("api-keys")
def api_keys() -> None:
    """API keys for operators."""


@api_keys.command("create")
@click.option("--business", "business_ref", required=True, help="Business id (biz_…) or exact name.")
@click.option("--name", required=True, help="A name for the key.")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    help="menu:level, repeatable (default: view on every menu).",
)
@click.option("--scope-account", default=None, help="Limit the key to this account's subtree.")
@friendly_errors
def api_keys_create(
    business_ref: str, name: str, permissions: tuple[str, ...], scope_account: str | None
) -> None:
    """Create an API key; prints the Client-Id and the secret (shown only now)."""
    from portal.domains.identity import roles, services
    from portal.lib.actor import system_actor
    from portal.server.nav import MENU_KEYS

    unknown = [p for p in permissions if p not in roles.ALL_RIGHTS]
    if unknown:
        raise click.BadParameter(f"unknown permission(s) {', '.join(unknown)}; use menu:view or menu:manage")
    wanted = frozenset(permissions) or frozenset(f"{m}:view" for m in MENU_KEYS)

    async def work() -> Any:
        found = await services.find_business(business_ref)
        return await services.create_api_key(
            system_actor(found.id, mode=found.mode),
            name=name,
            permissions=wanted,
            scope_account_id=scope_account,
        )

    key, secret = run_with_database(work)
    click.echo(f"API key {key.name} for {key.business_id}:")
    click.echo(f"Client-Id: {key.client_id}")
    click.echo(f"Secret:    {secret}")
    click.echo("Keep the secret now: it is not shown again.")


COMMANDS = [business, api_keys]
