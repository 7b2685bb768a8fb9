"""One paginator for every list endpoint (offset paging), after openai-python's ``AsyncPaginator``.

A list method validates its parameters when called and returns an ``AsyncPaginator``:
``await`` it for one page, or ``async for`` over it for every item, pages fetched as
the loop goes.  The answer may be the documented page object
(``{"list": [...], "pagination": {count, limit, offset}}``) or a bare JSON list (the
endpoint reference's shape for calibrations): ``AsyncPage.of`` reads both, here and
nowhere else.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from ._errors import InvalidRequestError
from ._models import Page, Pagination

__all__ = ["AsyncPage", "AsyncPaginator"]

T = TypeVar("T")

#: Fetches the page at an offset (``None``: the one the caller asked for, or the server's first).
FetchPage = Callable[[int | None], Awaitable["AsyncPage[T]"]]


class AsyncPage(Generic[T]):
    """One page of a list: its items (``list``), its ``pagination``, and the way to the next.

    ``page.list`` holds this page's items; ``async for item in page`` goes on from here
    through every later page.
    """

    __slots__ = ("_bare", "_fetch", "_next_offset", "list", "pagination")

    def __init__(
        self,
        items: builtins.list[T],
        pagination: Pagination,
        next_offset: int | None,
        fetch: FetchPage[T],
        *,
        bare: bool = False,
    ) -> None:
        self.list = items
        self.pagination = pagination
        self._next_offset = next_offset  # None: this is the last page
        self._fetch = fetch
        self._bare = bare

    @classmethod
    def of(cls, answer: Page[T] | builtins.list[T], *, limit: int, offset: int, fetch: FetchPage[T]) -> AsyncPage[T]:
        """The page of an answer in either shape.

        A page object says how many items there are in all.  A bare list does not: it is
        taken as the whole list when it is longer than ``limit`` (the server did not page),
        otherwise another page is asked for while pages are full (so 7 items by pages of
        3 are 3 + 3 + 1); its ``pagination.count`` counts the items up to the end of it.
        """
        if isinstance(answer, builtins.list):
            end = offset + len(answer)
            more = len(answer) == limit > 0
            pagination = Pagination(count=end, limit=limit, offset=offset)
            return cls(answer, pagination, end if more else None, fetch, bare=True)
        items, pagination = answer.list, answer.pagination
        end = offset + len(items)
        return cls(items, pagination, end if items and end < pagination.count else None, fetch)

    def has_next_page(self) -> bool:
        """Whether a later page may hold more items."""
        return self._next_offset is not None

    @property
    def has_more(self) -> bool:
        """Same as ``has_next_page()``."""
        return self._next_offset is not None

    async def next_page(self) -> AsyncPage[T]:
        """Fetch the page after this one (check ``has_next_page()`` first)."""
        if self._next_offset is None:
            raise InvalidRequestError("this is the last page: check has_next_page() before next_page()")
        page = await self._fetch(self._next_offset)
        if page._bare and page.list[:1] == self.list[:1]:
            # A bare list that ignores the offset answers the same items again: that was all.
            page.list, page._next_offset = [], None
        return page

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then every later one."""
        page = self
        yield page
        while page._next_offset is not None:
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.list:
                yield item

    def __repr__(self) -> str:
        p = self.pagination
        return f"<AsyncPage of {len(self.list)} at offset {p.offset} (count {p.count}, more: {self.has_next_page()})>"


class AsyncPaginator(Generic[T]):
    """What a list method returns: ``await`` it for one page, ``async for`` it for every item.

    >>> page = await client.voices.list(limit=25)          # one page: page.list, page.pagination
    >>> async for voice in client.voices.list(limit=100):  # every voice, 100 a request
    ...     print(voice.name)
    >>> async for page in client.voices.list(limit=100).iter_pages(): ...
    """

    __slots__ = ("_fetch",)

    def __init__(self, fetch: FetchPage[T]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._fetch(None).__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch(None)
        async for item in page:
            yield item

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """Every page, the first one included."""
        page = await self._fetch(None)
        async for each in page.iter_pages():
            yield each

    def __repr__(self) -> str:
        return f"<AsyncPaginator {self._fetch!r}>"
