"""Identity JSON API: who am I (the API key's business, permissions and scope)."""

from __future__ import annotations

from litestar import get

from portal.domains.identity import services
from portal.domains.identity.schemas import Me, MeBusiness
from portal.lib.actor import Actor
from portal.lib.errors import Unauthorized
from portal.lib.i18n import gettext
from portal.server.guards import ACTOR_DEPENDENCY


@get("/api/v1/me", operation_id="get_me", dependencies={"actor": ACTOR_DEPENDENCY}, tags=["me"])
async def me(actor: Actor) -> Me:
    """The calling API key: its business, permissions and scope."""
    if actor.api_key_id is None:
        raise Unauthorized(gettext("Sign the request with an API key."))
    business = await services.get_business(actor.business_id)
    return Me(
        business=MeBusiness(id=business.id, name=business.name, mode=business.mode),
        client_id=actor.extra.get("client_id", ""),
        name=actor.extra.get("api_key_name", ""),
        permissions=sorted(actor.rights),
        scope_account_id=actor.scope_account_id,
    )


ROUTES = [me]
