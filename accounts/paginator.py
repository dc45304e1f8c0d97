"""A paginator for big filtered changelists: it counts only as far as the pages it can link to."""

import math
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator[Any]):
    """Counts a filtered list up to `count_ahead` rows past the start of the page asked for, with a COUNT over
    a LIMITed subquery: a filter matching 25,000 of 50,000 users then reads about a thousand of them, where
    an exact COUNT read all 25,000 (most of the page's database time at that size).

    `count` is then a lower bound, and `count_is_exact` is False: the page says "more than N". Paging still
    works to the end, since the bound moves on with the page asked for (page 30 of 50 rows counts up to row
    1,450 + `count_ahead`); the page's own query skips that many rows anyway. An unfiltered list is counted
    exactly: counting a whole table costs SQLite almost nothing and PostgreSQL one pass that no join or
    filter adds to.
    """

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int,
        *,
        page_number: int = 1,
        count_ahead: int = 1000,
        **options: Any,
    ) -> None:
        super().__init__(object_list, per_page, **options)
        self.queryset = object_list  # typed as a QuerySet (Paginator's object_list is any sequence)
        # Whole pages, so the last page linked to is a full one; at least two, since the admin lists every
        # row, unpaginated, when the count says they fit on one page.
        ahead = max(math.ceil(count_ahead / per_page), 2) * per_page
        self.count_limit = (max(page_number, 1) - 1) * per_page + ahead

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        queryset = self.queryset
        if not queryset.query.where:
            return queryset.count(), True
        # Without ORDER BY the database can stop at the limit instead of sorting every matching row first.
        found = queryset.order_by()[: self.count_limit + 1].count()
        return min(found, self.count_limit), found <= self.count_limit

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_is_exact(self) -> bool:
        return self._counted[1]
