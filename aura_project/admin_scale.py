"""List pages for tables that grow without bound (evidence, the Manager's events): a page view costs a few
index probes however many rows the table holds.

At 1,000,000 incidents Django's changelist spends its time in four places, each replaced here:
1. The paginator counts every row (`COUNT(*)`). Here it counts at most COUNT_CAP + 1 rows; past that the list
   says "10,000+", or, unfiltered on PostgreSQL, "~1,000,000" from the planner's estimate (pg_class.reltuples).
2. The date hierarchy finds its years, months or days with `SELECT DISTINCT date_trunc(...)` over every row.
   Here it reads the first and last date (two probes of the date's index), then asks in one statement whether
   each candidate period has a row: an EXISTS each, one more probe.
3. A list filter on a field without choices lists them with `SELECT DISTINCT` over every row. Such fields get
   fixed choices here (`fixed_values_filter`), from the rules or a small table.
4. Page N reads and throws away (N - 1) × 100 rows (OFFSET): page 9,000 of incidents took 3.3 s. Here page
   numbers stop at MAX_OFFSET rows, and "Next" and "Previous" seek from the last or first row shown (keyset
   pagination on the list's own order, which an index serves), so the millionth row costs what the first does.
Facet counts (a COUNT per filter choice) are off, and a column sorts only where an index orders it.
"""

import base64
import binascii
import calendar
import json
from datetime import date, datetime

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.contrib.admin.templatetags.admin_list import pagination
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import DateTimeField, Max, Min, Q
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from unfold.views import ChangeList  # django's, as unfold's ModelAdmin uses it

COUNT_CAP = 10_000  # rows counted exactly; a count past it is a bound or an estimate
MAX_OFFSET = 10_000  # rows a numbered page may skip; deeper, "Next" seeks
MAX_PERIODS = 100  # date-hierarchy periods probed in one statement; more falls back to Django's query
AFTER, BEFORE = "_after", "_before"  # a seek from this row's key onwards, or back


class RowCount(int):
    """A list's row count, which may be a bound ("10,000+") or an estimate ("~1,000,000"): it compares as the
    number and prints as the label, so the admin's own templates and messages say which it is."""

    label: str | None

    def __new__(cls, value: int, label: str | None = None):
        count = super().__new__(cls, value)
        count.label = label
        return count

    def __str__(self) -> str:
        return self.label or int.__repr__(self)

    @property
    def exact(self) -> bool:
        return self.label is None


def table_estimate(queryset) -> int | None:
    """PostgreSQL's estimate of a table's rows (its partitions' if it has them), kept by ANALYZE; None
    elsewhere or before the first ANALYZE."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)::bigint FROM pg_class c"
            " WHERE c.relkind <> 'p' AND (c.oid = %s::regclass"
            " OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))",
            [queryset.model._meta.db_table] * 2,
        )
        estimate = cursor.fetchone()[0]
    return estimate or None


class BoundedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows, a short index scan whatever the table's size, and numbers pages only
    as deep as MAX_OFFSET rows. An unfiltered list past the cap shows the planner's estimate, as healthchecks'
    LargeTablePaginator does; a filtered one shows "10,000+"."""

    @cached_property
    def count(self) -> RowCount:
        queryset = self.object_list
        counted = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
        if counted <= COUNT_CAP:
            return RowCount(counted)
        estimate = None if queryset.query.where else table_estimate(queryset)
        if estimate and estimate > COUNT_CAP:
            return RowCount(estimate, f"~{estimate:,}")
        return RowCount(COUNT_CAP + 1, f"{COUNT_CAP:,}+")

    @cached_property
    def num_pages(self) -> int:
        pages = super().num_pages
        return pages if self.count.exact else min(pages, self.max_pages)

    @property
    def max_pages(self) -> int:
        return max(1, MAX_OFFSET // self.per_page)

    def page(self, number):
        """Past the first page, the OFFSET walks the order's index for primary keys alone; only the page's own
        rows are then read with their related rows. Sliced as one query, PostgreSQL joins every skipped row
        first: page 100 of incidents took 95 ms that way, 6 ms this way."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if self.count.exact and top + self.orphans >= self.count:  # a bound or an estimate is no end
            top = self.count
        if bottom == 0:
            return self._get_page(self.object_list[bottom:top], number, self)
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list.order_by().in_bulk(keys)
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


def _encode(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(token: str, count: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise IncorrectLookupParameters(exc) from exc
    if not isinstance(values, list) or len(values) != count or not all(isinstance(v, str) for v in values):
        raise IncorrectLookupParameters("not a seek key for this list")
    return values


def seek_filter(keys, values, *, forward: bool) -> Q:
    """Rows after (forward) or before the row with these key values, in the order `keys` gives: the first key
    past the row's, or equal and the second past, and so on. The first key's inclusive bound leads, so that
    PostgreSQL starts an index range scan at the row instead of filtering from the list's start."""
    after = Q()
    for i, (field, descending) in enumerate(keys):
        same = {keys[j][0].name: values[j] for j in range(i)}
        op = "lt" if descending == forward else "gt"
        after |= Q(**same, **{f"{field.name}__{op}": values[i]})
    first, descending = keys[0]
    return Q(**{f"{first.name}__{'lte' if descending == forward else 'gte'}": values[0]}) & after


class LargeTableChangeList(ChangeList):
    """Django's changelist with the bounded count, the probed date hierarchy and seek pagination above."""

    def __init__(self, request, *args, **kwargs):
        self.seek_token, self.seek_forward = None, True
        if request.GET.get(BEFORE):
            self.seek_token, self.seek_forward = request.GET[BEFORE], False
        elif request.GET.get(AFTER):
            self.seek_token = request.GET[AFTER]
        super().__init__(request, *args, **kwargs)
        for name in (AFTER, BEFORE):  # so the search form does not carry them
            self.params.pop(name, None)
            self.filter_params.pop(name, None)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name in (AFTER, BEFORE):
            lookup_params.pop(name, None)
        return lookup_params

    def get_query_string(self, new_params=None, remove=None):
        # Every link (a filter, a date, a column, a page number) starts the list again, except "Next"/"Previous".
        new_params = new_params or {}
        remove = [*(remove or []), *(name for name in (AFTER, BEFORE) if name not in new_params)]
        return super().get_query_string(new_params, remove)

    def get_queryset(self, request, exclude_parameters=None):
        # A crafted ?o= naming a column the page does not offer would sort the whole table; ignore it.
        if self.params.get(ORDER_VAR) and self.sortable_by is not None:
            offered = []
            for part in self.params[ORDER_VAR].split("."):
                try:
                    index = int(part.rpartition("-")[2])
                except ValueError:
                    continue
                if 0 <= index < len(self.list_display) and self.list_display[index] in self.sortable_by:
                    offered.append(part)
            if offered:
                self.params[ORDER_VAR] = ".".join(offered)
            else:
                del self.params[ORDER_VAR]
        return super().get_queryset(request, exclude_parameters)

    # --- Pages -------------------------------------------------------------------------------------------

    @cached_property
    def seek_keys(self):
        """The list's order as (field, descending) pairs when a seek can follow it: plain non-null columns of
        this model, the last one unique. None for an order through a relation or an expression."""
        keys = []
        for part in self.queryset.query.order_by:
            if not isinstance(part, str):
                return None
            name = part.lstrip("-")
            try:
                field = self.opts.pk if name == "pk" else self.opts.get_field(name)
            except FieldDoesNotExist:
                return None
            if field.is_relation or field.null or not field.concrete:
                return None
            keys.append((field, part.startswith("-")))
            if field.unique:
                return keys
        return None

    def seek_link(self, row, *, forward: bool) -> str:
        values = [field.value_to_string(row) for field, _ in self.seek_keys]
        return self.get_query_string({AFTER if forward else BEFORE: _encode(values)}, remove=[PAGE_VAR])

    def get_results(self, request):
        self.seek_mode = self.seek_token is not None
        self.first_link = self.previous_link = self.next_link = None
        if not self.seek_mode:
            try:
                super().get_results(request)
            except IncorrectLookupParameters:
                if self.page_num > max(1, MAX_OFFSET // self.list_per_page):
                    messages.info(
                        request,
                        f"Page {self.page_num} is past the numbered pages: use “Next ›” from the last one, "
                        "or narrow the list by date or a filter.",
                    )
                raise
            if not self.result_count.exact and self.seek_keys and not self.show_all:
                rows = len(self.result_list)  # evaluates the page once; the template reuses it
                if rows == self.list_per_page:
                    self.next_link = self.seek_link(self.result_list[rows - 1], forward=True)
            return
        if self.seek_keys is None:
            raise IncorrectLookupParameters("this order cannot be paged by seeking")
        values = _decode(self.seek_token, len(self.seek_keys))
        try:
            values = [field.to_python(value) for (field, _), value in zip(self.seek_keys, values, strict=True)]
        except ValidationError as exc:
            raise IncorrectLookupParameters(exc) from exc
        per_page = self.list_per_page
        paginator = self.model_admin.get_paginator(request, self.queryset, per_page)
        rows = self.queryset.filter(seek_filter(self.seek_keys, values, forward=self.seek_forward))
        if not self.seek_forward:
            rows = rows.reverse()
        rows = list(rows[: per_page + 1])
        more, rows = len(rows) > per_page, rows[:per_page]
        if self.seek_forward:
            has_previous, has_next = True, more
        elif more:
            rows.reverse()
            has_previous, has_next = True, True
        else:  # less than a page before the row: that is the list's first page
            rows = list(self.queryset[: per_page + 1])
            has_previous, has_next = False, len(rows) > per_page
            rows = rows[:per_page]
        if rows and has_previous:
            self.previous_link = self.seek_link(rows[0], forward=False)
        if rows and has_next:
            self.next_link = self.seek_link(rows[-1], forward=True)
        self.first_link = self.get_query_string(remove=[PAGE_VAR]) if has_previous else None
        self.result_count = paginator.count
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.result_list = rows
        self.can_show_all = False
        self.multi_page = True
        self.paginator = paginator

    @cached_property
    def pager(self) -> dict:
        """What admin/aura/pagination.html draws: page numbers, or First/Previous after a seek, and Next."""
        numbered = {} if self.seek_mode else pagination(self)
        return {
            **numbered,
            "first_link": self.first_link,
            "previous_link": self.previous_link,
            "next_link": self.next_link,
        }

    # --- Date hierarchy ----------------------------------------------------------------------------------

    @cached_property
    def date_choices(self) -> dict:
        """What Django's date_hierarchy tag returns, without its SELECT DISTINCT over every row."""
        name = self.date_hierarchy
        field = get_fields_from_path(self.model, name)[-1]
        is_datetime = isinstance(field, DateTimeField)
        year_field, month_field, day_field = f"{name}__year", f"{name}__month", f"{name}__day"
        year, month, day = (self.params.get(key) for key in (year_field, month_field, day_field))

        def link(filters):
            return self.get_query_string(filters, [f"{name}__"])

        first = last = None
        if not (year or month or day):
            bounds = self.queryset.aggregate(first=Min(name), last=Max(name))
            first, last = bounds["first"], bounds["last"]
            if first is None or last is None:
                return {"show": True, "back": None, "choices": []}
            if is_datetime:
                first, last = timezone.localtime(first), timezone.localtime(last)
            if first.year == last.year:
                year = first.year
                if first.month == last.month:
                    month = first.month
        if year and month and day:
            shown = date(int(year), int(month), int(day))
            return {
                "show": True,
                "back": {
                    "link": link({year_field: year, month_field: month}),
                    "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            year, month = int(year), int(month)
            days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
            periods = [(d, d.replace(day=d.day + 1) if d.day < len(days) else _next_month(d)) for d in days]
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: month, day_field: start.day}),
                        "title": capfirst(formats.date_format(start, "MONTH_DAY_FORMAT")),
                    }
                    for start in self._periods_with_rows(periods, is_datetime)
                ],
            }
        if year:
            year = int(year)
            periods = [(date(year, m, 1), _next_month(date(year, m, 1))) for m in range(1, 13)]
            return {
                "show": True,
                "back": {"link": link({}), "title": _("All dates")},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: start.month}),
                        "title": capfirst(formats.date_format(start, "YEAR_MONTH_FORMAT")),
                    }
                    for start in self._periods_with_rows(periods, is_datetime)
                ],
            }
        periods = [(date(y, 1, 1), date(y + 1, 1, 1)) for y in range(first.year, last.year + 1)]
        return {
            "show": True,
            "back": None,
            "choices": [
                {"link": link({year_field: str(start.year)}), "title": str(start.year)}
                for start in self._periods_with_rows(periods, is_datetime)
            ],
        }

    def _periods_with_rows(self, periods: list[tuple[date, date]], is_datetime: bool) -> list[date]:
        """The periods [start, end) in which the filtered list has a row: one statement of EXISTS probes on the
        date's index, in the current time zone as the hierarchy's own filter reads them."""
        name = self.date_hierarchy
        if len(periods) > MAX_PERIODS:  # only a table with absurd dates: ask Django's way
            kind = "year"
            found = {d.year for d in getattr(self.queryset, "datetimes" if is_datetime else "dates")(name, kind)}
            return [start for start, _ in periods if start.year in found]

        def bound(day: date):
            if not is_datetime:
                return day
            moment = datetime(day.year, day.month, day.day)
            return timezone.make_aware(moment) if settings.USE_TZ else moment

        connection = connections[self.queryset.db]
        parts, params = [], []
        for start, end in periods:
            probe = self.queryset.filter(**{f"{name}__gte": bound(start), f"{name}__lt": bound(end)})
            # A scalar subquery ordered by the date, so the planner walks the date's index. An EXISTS probe drops
            # any ORDER BY, and its LIMIT 1 over a month expected to hold thousands of rows looked cheap as a
            # sequential scan, which on a table written in time order read every older row first (37 ms a month
            # at 300,000 incidents).
            probe = probe.order_by(name).values("pk")[:1]
            sql, probe_params = probe.query.get_compiler(connection=connection).as_sql()
            parts.append(f"({sql}) IS NOT NULL")
            params.extend(probe_params)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            found = cursor.fetchone()
        return [start for (start, _), has_rows in zip(periods, found, strict=True) if has_rows]


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


class LargeTableAdminMixin:
    """For a model admin over a table that grows without bound: the changelist above, no facet counts, and
    sorting only by the columns an index orders (the date hierarchy's field and unique columns)."""

    change_list_template = "admin/aura/change_list.html"
    paginator = BoundedPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList

    def get_sortable_by(self, request):
        opts = self.model._meta
        indexed = {self.date_hierarchy, "pk"} | {f.name for f in opts.concrete_fields if f.unique}
        return [name for name in self.get_list_display(request) if name in indexed]


def fixed_values_filter(values) -> type[admin.FieldListFilter]:
    """A list filter on a field without choices whose values come from `values(request)` (the rules, or a
    small table), not from a SELECT DISTINCT over the big one. Its URL parameter is the field's own, as with
    Django's filter for such fields, so links made before still work."""

    class FixedValuesFieldListFilter(admin.AllValuesFieldListFilter):
        def __init__(self, field, request, params, model, model_admin, field_path):
            super().__init__(field, request, params, model, model_admin, field_path)
            # Django's filter built a lazy DISTINCT query here; it is replaced before it runs.
            self.lookup_choices = sorted(set(values(request)))

    return FixedValuesFieldListFilter
