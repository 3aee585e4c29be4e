"""The activity page (menu "activity"): search by user, type and data, date range, cursor pagination,
CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.response import Stream

from portal.domains.audit import services
from portal.lib.actor import Actor
from portal.lib.spreadsheet import escape_text
from portal.lib.timefmt import WIB
from portal.server.forms import htmx, pages_router
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

PAGE_SIZE = 50


def _params(request: Request[Any, Any, Any]) -> dict[str, str]:
    query = request.query_params
    return {k: str(query.get(k, "") or "") for k in ("user", "action", "data", "start", "end")}


@get(
    "/activity",
    operation_id="activity",
    guards=[requires("activity")],
)
async def activity(request: Request[Any, Any, Any], actor: Actor, after: str = "") -> Response[str]:
    params = _params(request)
    flt = services.parse_filter(**params)
    result = await services.search(actor, flt, limit=PAGE_SIZE, after=after or None)
    query = {k: v for k, v in params.items() if v}
    next_url = (
        f"/activity?{urlencode({**query, 'after': result.next_cursor})}" if result.next_cursor else None
    )
    export_url = "/activity/export.csv" + (f"?{urlencode(query)}" if query else "")
    context = {"rows": result.rows, "params": params, "next_url": next_url, "export_url": export_url}
    # "Load more" asks for rows only; the search form asks for the result table.
    details = htmx(request)
    target = details.target or ""
    block = "rows" if after and details and not target.startswith("activity-results") else "content"
    if target == "activity-results":
        block = "results"
    return page(request, "audit/activity.html", context, block=block)


@get(
    "/activity/export.csv",
    operation_id="activity_export",
    guards=[requires("activity")],
)
async def activity_export(request: Request[Any, Any, Any], actor: Actor) -> Stream:
    """Every matching row as CSV (text cells escaped against formula injection), streamed."""
    flt = services.parse_filter(**_params(request))
    await services.record(
        actor,
        "activity.exported",
        f"{actor.name} exported the activity log as CSV",
        refs={"filter": urlencode({k: v for k, v in _params(request).items() if v})},
    )

    async def rows() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["time_wib", "user", "ip", "user_agent", "action", "summary", "references"])
        yield ("\ufeff" + buffer.getvalue()).encode()
        async for row in services.iterate_all(actor, flt):
            buffer.seek(0)
            buffer.truncate()
            refs = "; ".join(f"{k}={v}" for k, v in sorted(row["refs"].items()))
            writer.writerow(
                [
                    row["occurred_at"].astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S"),
                    escape_text(row["actor_name"]),
                    escape_text(row["ip"]),
                    escape_text(row["user_agent"]),
                    escape_text(row["action"]),
                    escape_text(row["summary"]),
                    escape_text(refs),
                ]
            )
            yield buffer.getvalue().encode()

    return Stream(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="activity.csv"'},
    )


ROUTES = [pages_router(ACTOR_DEPENDENCY, [activity, activity_export])]
