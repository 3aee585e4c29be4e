"""``client.statements``: account statements as typed entries or as files."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from .._base_client import Call, ListCall, compact, format_date, model_parser, page_parser, path
from ..models import StatementEntry, StatementPage
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncStatements", "StatementFormat", "Statements"]

StatementFormat = Literal["csv", "xlsx", "pdf", "mt940", "camt053"]
_FORMATS = frozenset(("csv", "xlsx", "pdf", "mt940", "camt053"))


def _params(
    start: date | str, end: date | str, include_descendants: bool, fmt: str, limit: int | None = None
) -> dict[str, object]:
    return compact(
        {
            "start": format_date(start),
            "end": format_date(end),
            "include_descendants": include_descendants,
            "format": fmt,
            "limit": limit,
        }
    )


def _entries(
    account_id: str, start: date | str, end: date | str, include_descendants: bool, limit: int | None
) -> ListCall[StatementEntry]:
    return ListCall(
        path("/accounts/{}/statement", account_id),
        _params(start, end, include_descendants, "json", limit),
        page_parser(StatementEntry),
    )


def _retrieve(
    account_id: str,
    start: date | str,
    end: date | str,
    include_descendants: bool,
    limit: int | None,
    after: str | None,
) -> Call[StatementPage]:
    params = _params(start, end, include_descendants, "json", limit)
    if after is not None:
        params["after"] = after
    return Call("GET", path("/accounts/{}/statement", account_id), model_parser(StatementPage), params=params)


def _download(
    account_id: str, start: date | str, end: date | str, include_descendants: bool, fmt: str
) -> Call[None]:
    if fmt not in _FORMATS:
        raise ValueError(f"format must be one of {sorted(_FORMATS)}, got {fmt!r}")
    params = _params(start, end, include_descendants, fmt)
    return Call("GET", path("/accounts/{}/statement", account_id), lambda _: None, params=params)


class Statements(SyncResource):
    """Statements of an account (optionally with its descendants) over a period of WIB calendar days."""

    def entries(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        include_descendants: bool = False,
        limit: int | None = None,
    ) -> SyncPager[StatementEntry]:
        """Iterate the statement's entries from ``start`` to ``end`` (both inclusive), page after page."""
        return self._client._pager(_entries(account_id, start, end, include_descendants, limit))

    def retrieve(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        include_descendants: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> StatementPage:
        """Return one page of the statement with the period's opening/closing balances and totals."""
        return self._client._request(_retrieve(account_id, start, end, include_descendants, limit, after))

    def download(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        format: StatementFormat,
        path: str | os.PathLike[str],
        include_descendants: bool = False,
    ) -> Path:
        """Stream the statement file (csv, xlsx, pdf, mt940, camt053) to ``path`` and return the path.

        The file appears whole or not at all: it is written beside ``path`` and renamed when complete.
        """
        call = _download(account_id, start, end, include_descendants, format)
        return self._client._download(call, Path(path))


class AsyncStatements(AsyncResource):
    """Statements of an account (optionally with its descendants) over a period of WIB calendar days."""

    def entries(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        include_descendants: bool = False,
        limit: int | None = None,
    ) -> AsyncPager[StatementEntry]:
        """Iterate the statement's entries with ``async for`` (nothing is sent until then)."""
        return self._client._pager(_entries(account_id, start, end, include_descendants, limit))

    async def retrieve(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        include_descendants: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> StatementPage:
        """Return one page of the statement with the period's opening/closing balances and totals."""
        return await self._client._request(
            _retrieve(account_id, start, end, include_descendants, limit, after)
        )

    async def download(
        self,
        *,
        account_id: str,
        start: date | str,
        end: date | str,
        format: StatementFormat,
        path: str | os.PathLike[str],
        include_descendants: bool = False,
    ) -> Path:
        """Stream the statement file (csv, xlsx, pdf, mt940, camt053) to ``path`` and return the path."""
        call = _download(account_id, start, end, include_descendants, format)
        return await self._client._download(call, Path(path))
