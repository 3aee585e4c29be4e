"""``client.reports``: custom reports saved in the portal, run page by page or downloaded as a file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._base_client import Call, model_parser, path
from ..models import NeracaObject
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncReports", "ReportFormat", "ReportRows", "Reports"]

ReportFormat = Literal["csv", "xlsx", "pdf"]
_FORMATS = frozenset(("csv", "xlsx", "pdf"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRows(NeracaObject):
    """One page of a report: ``columns`` (name, label, type), ``rows`` (lists in column order), the
    ``totals`` of its money columns over all rows, and ``row_count``."""

    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    page: int
    has_more: bool
    totals: dict[str, int] = field(default_factory=dict)
    row_count: int


_rows = model_parser(ReportRows)


def _run(report_id: str, page: int) -> Call[ReportRows]:
    return Call("GET", path("/reports/{}/run", report_id), _rows, params={"page": page})


def _download(report_id: str, fmt: str) -> Call[None]:
    if fmt not in _FORMATS:
        raise ValueError(f"format must be one of {sorted(_FORMATS)}, got {fmt!r}")
    return Call("GET", path("/reports/{}/download", report_id), lambda _: None, params={"format": fmt})


class Reports(SyncResource):
    """Custom reports saved in the portal: run, download."""

    def run(self, *, report_id: str, page: int = 1) -> ReportRows:
        """One page (50 rows) of a saved report, with its totals."""
        return self._client._request(_run(report_id, page))

    def download(self, report_id: str, *, format: ReportFormat, path: str | os.PathLike[str]) -> Path:
        """Stream the whole report as csv, xlsx or pdf to ``path`` (written whole or not at all)."""
        return self._client._download(_download(report_id, format), Path(path))


class AsyncReports(AsyncResource):
    """Custom reports saved in the portal: run, download."""

    async def run(self, *, report_id: str, page: int = 1) -> ReportRows:
        """One page (50 rows) of a saved report, with its totals."""
        return await self._client._request(_run(report_id, page))

    async def download(self, report_id: str, *, format: ReportFormat, path: str | os.PathLike[str]) -> Path:
        """Stream the whole report as csv, xlsx or pdf to ``path`` (written whole or not at all)."""
        return await self._client._download(_download(report_id, format), Path(path))
