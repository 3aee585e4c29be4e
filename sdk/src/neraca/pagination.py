"""Auto-paging over cursor-paginated lists (``{"data", "has_more", "next_cursor"}``).

``client.transfers.list(...)`` returns a pager and sends nothing yet. Iterate it to get every item
across pages (the next page is fetched only when the current one is used up), or call ``page()`` for
exactly one page and keep its ``next_cursor`` yourself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from .models import Page

__all__ = ["AsyncPager", "SyncPager"]

T = TypeVar("T")


def _has_next(page: Page[T], previous_cursor: str | None) -> bool:
    # Stop when the server says so, and also if it hands back the cursor it was given (a loop).
    return page.has_more and page.next_cursor is not None and page.next_cursor != previous_cursor


class SyncPager(Generic[T]):
    """Iterate every item of a list, fetching pages lazily; ``page()`` fetches a single page."""

    def __init__(self, fetch: Callable[[str | None], Page[T]]) -> None:
        self._fetch = fetch

    def page(self, *, after: str | None = None) -> Page[T]:
        """Fetch one page: the first, or the one after cursor ``after`` (a previous ``next_cursor``)."""
        return self._fetch(after)

    def pages(self) -> Iterator[Page[T]]:
        """Iterate page by page, following ``next_cursor`` until ``has_more`` is false."""
        cursor: str | None = None
        while True:
            current = self._fetch(cursor)
            yield current
            if not _has_next(current, cursor):
                return
            cursor = current.next_cursor

    def __iter__(self) -> Iterator[T]:
        for current in self.pages():
            yield from current.data

    def first(self) -> T | None:
        """The first item, or None when the list is empty (fetches one page)."""
        data = self.page().data
        return data[0] if data else None


class AsyncPager(Generic[T]):
    """Async twin of ``SyncPager``: ``async for item in pager``, ``await pager.page()``."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> None:
        self._fetch = fetch

    async def page(self, *, after: str | None = None) -> Page[T]:
        """Fetch one page: the first, or the one after cursor ``after`` (a previous ``next_cursor``)."""
        return await self._fetch(after)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate page by page, following ``next_cursor`` until ``has_more`` is false."""
        cursor: str | None = None
        while True:
            current = await self._fetch(cursor)
            yield current
            if not _has_next(current, cursor):
                return
            cursor = current.next_cursor

    async def __aiter__(self) -> AsyncIterator[T]:
        async for current in self.pages():
            for item in current.data:
                yield item

    async def first(self) -> T | None:
        """The first item, or None when the list is empty (fetches one page)."""
        data = (await self.page()).data
        return data[0] if data else None
