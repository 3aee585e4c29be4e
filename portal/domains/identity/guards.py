"""Route guards moved to portal.server.guards (the web layer, below every domain); kept for old imports."""

from portal.server.guards import (
    ACTOR_DEPENDENCY,
    LoginRequired,
    current_actor,
    current_actor_dependency,
    login_redirect_target,
    login_required,
    object_first,
    requires,
    signed_in,
)

__all__ = [
    "ACTOR_DEPENDENCY",
    "LoginRequired",
    "current_actor",
    "current_actor_dependency",
    "login_redirect_target",
    "login_required",
    "object_first",
    "requires",
    "signed_in",
]
