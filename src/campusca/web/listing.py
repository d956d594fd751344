"""Paginated, sortable lists on the administrators' pages: plain links with query parameters, no JavaScript.

A list page reads `page`, `sort` and `dir` (and its own filters) from the query string; every link it
draws keeps the other parameters. Bad values fall back to the defaults instead of answering an error:
a hand-edited URL shows the first page, not a 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

PER_PAGE = 25
PAGE_SIZES = (10, 25, 50, 100)
MAX_PAGE_NUMBER = 1_000_000


def whole_number(text: str | None, default: int, *, low: int = 0, high: int = MAX_PAGE_NUMBER) -> int:
    """`text` as an int within [low, high], else `default`."""
    try:
        value = int(str(text).strip())
    except ValueError:
        return default
    return value if low <= value <= high else default


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a list stands (path, filters, sort, page) and the links to move from there."""

    path: str
    filters: Mapping[str, str]
    sort: str
    descending: bool
    page: int
    per_page: int = PER_PAGE
    total: int = 0
    default_sort: str = field(default="", compare=False)

    @classmethod
    def read(
        cls,
        path: str,
        query: Mapping[str, str],
        *,
        filters: tuple[str, ...],
        sorts: tuple[str, ...],
        default_sort: str,
        descending: bool = False,
    ) -> Listing:
        sort = query.get("sort", default_sort)
        if sort not in sorts:
            sort = default_sort
        direction = query.get("dir", "")
        return cls(
            path=path,
            filters={name: query.get(name, "").strip()[:200] for name in filters},
            sort=sort,
            descending=direction == "desc" if direction in ("asc", "desc") else descending,
            page=whole_number(query.get("page"), 1, low=1),
            per_page=per if (per := whole_number(query.get("per"), PER_PAGE)) in PAGE_SIZES else PER_PAGE,
            default_sort=default_sort,
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def with_total(self, total: int) -> Listing:
        return Listing(
            self.path,
            self.filters,
            self.sort,
            self.descending,
            self.page,
            self.per_page,
            total,
            self.default_sort,
        )

    def link(self, **changes: object) -> str:
        """This list's URL with some parameters changed; empty values are left out."""
        params: dict[str, object] = {
            **self.filters,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "page": self.page,
            "per": self.per_page,
        }
        params.update(changes)
        kept = {
            k: v
            for k, v in params.items()
            if v not in ("", None) and not (k == "page" and v == 1) and not (k == "per" and v == PER_PAGE)
        }
        return f"{self.path}?{urlencode(kept)}" if kept else self.path

    def sort_link(self, key: str) -> str:
        """Sorting by `key`: ascending first, the other way when it is the current order already."""
        descending = not self.descending if key == self.sort else False
        return self.link(sort=key, dir="desc" if descending else "asc", page=1)

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    @property
    def first_shown(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.per_page)
