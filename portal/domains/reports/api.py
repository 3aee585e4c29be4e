"""Statements JSON API: `GET /api/v1/accounts/{id}/statement` (JSON pages, or a file with `format=`)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import Parameter
from litestar.response import Stream

from portal.domains.reports import services
from portal.domains.reports.schemas import StatementPage, StatementPeriod, entry_out
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.server.guards import ACTOR_DEPENDENCY, requires


def parse_bool(value: str | None, pointer: str) -> bool:
    text = (value or "false").strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValidationFailed(
        gettext("%(field)s is true or false.") % {"field": pointer.lstrip("/")},
        errors=[FieldError(pointer, gettext("true or false"), "invalid")],
    )


def parse_limit(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(
            gettext("limit is a whole number from 1 to 100."),
            errors=[FieldError("/limit", gettext("1 to %(max)d") % {"max": 100}, "invalid")],
        ) from None


def download_response(download: services.Download) -> Stream:
    # Litestar adds "; charset=<encoding>" to text/* types itself.
    media_type, _, charset = download.media_type.partition("; charset=")
    return Stream(
        download.body,
        media_type=media_type,
        encoding=charset or "utf-8",
        headers={
            "Content-Disposition": services.content_disposition(download.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


@get(
    "/api/v1/accounts/{account_id:str}/statement",
    operation_id="get_account_statement",
    guards=[requires("reports")],
    dependencies={"actor": ACTOR_DEPENDENCY},
    tags=["statements"],
)
async def account_statement(
    actor: Actor,
    account_id: str,
    start: str | None = None,
    end: str | None = None,
    include_descendants: str | None = None,
    fmt: str | None = Parameter(query="format", default=None),
    limit: str | None = None,
    after: str | None = None,
) -> Response[Any]:
    """The account's statement over WIB calendar days `start`..`end` (both inclusive): JSON pages of
    entries with the period's opening and closing balances and totals, or a file (`format=csv`, `xlsx`,
    `pdf`, `mt940`, `camt053`) streamed as it is produced. Add `include_descendants=true` for the roll-up
    of the account's subtree."""
    fmt_value = services.validate_format(fmt)
    descendants = parse_bool(include_descendants, "/include_descendants")
    size = parse_limit(limit)
    r = await services.resolve(
        actor, account_id, start=start, end=end, include_descendants=descendants, fmt=fmt_value
    )
    if fmt_value != "json":
        return download_response(await services.open_download(actor, r, fmt_value))
    page = await services.statement_page(r, limit=size, after=after)
    h = page.header
    body = StatementPage(
        account_id=r.account.id,
        include_descendants=r.include_descendants,
        data=[entry_out(line) for line in page.lines],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
        opening_balance=h.opening_balance,
        closing_balance=h.closing_balance,
        total_debits=h.total_debits,
        total_credits=h.total_credits,
        entry_count=h.entry_count,
        currency=h.currency,
        period=StatementPeriod(start=r.start, end=r.end),
    )
    return Response(body)


ROUTES = [account_statement]
