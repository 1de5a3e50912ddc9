"""The console's list pages: one FilterSet, one Table, one ObjectListView subclass per list (NetBox).

A list page is declared, not written: a subclass names the selector that gives the rows its
user may see, the FilterSet, the Table, the permission and its titles. The base does the rest the
same way for every list: the filter form (bad input is a form error and no rows, never a 500),
sorting by the table's orderable columns, a bounded per-page choice, pages without a COUNT over
the whole table, the CSV export of the filtered rows (written to the audit trail), and the table
alone for an htmx request. Every subclass registers itself in LIST_VIEWS, and
tests/lists/test_every_list.py runs the same checks over each of them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import ClassVar

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_filters.fields import DateRangeField
from django_tables2.export import TableExport
from django_tables2.paginators import LazyPaginator
from django_tables2.rows import BoundRow
from tablib import Dataset

# Query parameters of the page itself, never filters (and never in an export's record).
PAGE_PARAM, PER_PAGE_PARAM, SORT_PARAM, EXPORT_PARAM = "page", "per_page", "sort", "_export"
CONTROL_PARAMS = frozenset({PAGE_PARAM, PER_PAGE_PARAM, SORT_PARAM, EXPORT_PARAM})
# The id of the element an htmx request replaces: templates/console/_table.html.
TABLE_TARGET = "object-list"

LIST_VIEWS: list[type[ObjectListView]] = []


class BoundedLazyPaginator(LazyPaginator):
    """Pages without a COUNT(*) over the whole table (it reads one row past the page instead), and
    a page number the database can answer cheaply: ?page=10**20 is an empty page, not an OFFSET
    of 10**20 rows."""

    MAX_PAGE = 10_000

    def validate_number(self, number):
        number = super().validate_number(number)
        if number > self.MAX_PAGE:
            raise EmptyPage(_("That page number is too large"))
        return number

    def page(self, number):
        # LazyPaginator slices self.object_list once; that slice is a deferred join (_DeferredRows):
        # the page's ids over the bare table, then the page's rows with their figures.
        rows = self.object_list
        self.object_list = _DeferredRows(rows)
        try:
            return super().page(number)
        finally:
            self.object_list = rows


class _DeferredRows:
    """A table's rows sliced as a deferred join: the page's primary keys first, then those rows.

    `OFFSET n` makes the database build every skipped row, with every figure the selector
    annotates (a correlated sum per row, say) and every joined table, only to throw it away: a
    deep page of a large list then costs as much as the whole list; and a list sorted by a
    computed figure (my queue's priority) joins the customer of every row before it sorts. The
    ids are read with the filters and the ordering only (an OFFSET over an index, or the sort's
    own expression), then one page of rows with their figures and joins, by key: one query more
    per page, and a page's cost that does not grow with the list."""

    def __init__(self, rows):
        self.rows = rows

    def __getitem__(self, key: slice):
        queryset = getattr(getattr(self.rows, "data", None), "data", None)
        if not isinstance(key, slice) or not isinstance(queryset, QuerySet):
            return self.rows[key]
        ids = list(queryset.values_list("pk", flat=True)[key])
        found = queryset.order_by().in_bulk(ids)
        return [BoundRow(found[pk], table=self.rows.table) for pk in ids if pk in found]


class ConsoleTable(tables.Table):
    """The base of every console table: the shared template (long values cut, whole on hover)."""

    class Meta:
        template_name = "console/table.html"
        attrs = {"class": "table"}
        per_page = 50


class ConsoleTableExport(TableExport):
    """django-tables2's export, each cell made safe for a spreadsheet.

    The values are the table's own (its `value_<column>` methods, else what it renders), so a
    column masked on the page is masked in the file; `clean_cell` then strips what a
    spreadsheet would run as a formula.
    """

    def __init__(self, export_format, table, *, clean_cell: Callable[[str], str], **kwargs):
        self.clean_cell = clean_cell
        super().__init__(export_format, table, **kwargs)

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = Dataset(**(dataset_kwargs or {}))
        for number, row in enumerate(table.as_values(exclude_columns=exclude_columns)):
            cells = [self.clean_cell("" if value is None else str(value)) for value in row]
            if number == 0:
                dataset.headers = cells
            else:
                dataset.append(cells)
        return dataset


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class ObjectListView(PermissionRequiredMixin, View):
    """A console list: a subclass sets the class attributes below and adds a URL and an access entry.

    `selector` is called with the user (`selector(user=...)`) and must return only the rows that
    user may see, in the list's default order, with what the table shows joined in.
    """

    selector: ClassVar[Callable[..., QuerySet]]
    filterset_class: ClassVar[type[django_filters.FilterSet]]
    table_class: ClassVar[type[tables.Table]]
    permission_required: ClassVar[str]
    raise_exception = True  # a signed-in user without the permission gets 403, not the sign-in page
    title: ClassVar = ""
    description: ClassVar = ""
    template_name = "console/object_list.html"
    # A part shown above the table, inside what htmx replaces (so it follows the filters), e.g. a
    # form that acts on the filtered rows; its context comes from get_tools_context.
    tools_template: ClassVar[str | None] = None
    partial_template_name = "console/_table.html"
    paginator_class = BoundedLazyPaginator
    per_page_choices: ClassVar[tuple[int, ...]] = (25, 50, 100)
    # The export's file name and the list's name in the audit trail (a machine name, kept stable).
    export_name: ClassVar[str] = ""
    export_max_rows: ClassVar[int] = 20_000
    # Set through as_view(export_format="csv") for a URL that always answers with the file.
    export_format: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "table_class", None) is not None:
            LIST_VIEWS.append(cls)

    # --- The parts a subclass may refine ---------------------------------------------------------

    def get_queryset(self) -> QuerySet:
        return type(self).selector(user=self.request.user)

    def get_filterset(self) -> django_filters.FilterSet:
        return self.filterset_class(
            self.request.GET or None, queryset=self.get_queryset(), request=self.request
        )

    def clean_export_cell(self, text: str) -> str:
        return spreadsheet_safe(text)

    def get_tools_context(self, filterset) -> dict:
        return {}

    # --- The request -------------------------------------------------------------------------------

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        valid = not filterset.is_bound or filterset.is_valid()
        export_format = self.export_format or request.GET.get(EXPORT_PARAM)
        if export_format:
            return self.export(filterset, export_format, valid=valid)
        table = self.table_class(filterset.qs if valid else filterset.queryset.none())
        table.order_by = request.GET.get(SORT_PARAM)
        per_page = self.per_page(table)
        try:
            table.paginate(
                paginator_class=self.paginator_class, per_page=per_page, page=request.GET.get(PAGE_PARAM, 1)
            )
        except (EmptyPage, PageNotAnInteger):
            table.paginate(paginator_class=self.paginator_class, per_page=per_page, page=1)
        context = {
            "view": self,
            "title": self.title,
            "description": self.description,
            "filter": filterset,
            "table": table,
            "per_page": per_page,
            "per_page_links": [
                (n, self._query(**{PER_PAGE_PARAM: n, PAGE_PARAM: None})) for n in self.per_page_choices
            ],
            "export_query": self._query(**{EXPORT_PARAM: "csv", PAGE_PARAM: None, PER_PAGE_PARAM: None}),
            "table_target": TABLE_TARGET,
            "tools_template": self.tools_template,
            **(self.get_tools_context(filterset) if self.tools_template else {}),
        }
        partial = request.htmx and request.htmx.target == TABLE_TARGET
        return render(request, self.partial_template_name if partial else self.template_name, context)

    def per_page(self, table) -> int:
        """The reader's choice when it is one of per_page_choices; anything else is the table's default."""
        try:
            chosen = int(self.request.GET.get(PER_PAGE_PARAM, ""))
        except ValueError:
            chosen = None
        default = (
            table._meta.per_page
            if table._meta.per_page in self.per_page_choices
            else self.per_page_choices[0]
        )
        return chosen if chosen in self.per_page_choices else default

    def _query(self, **changes) -> str:
        query: QueryDict = self.request.GET.copy()
        for name, value in changes.items():
            query.pop(name, None)
            if value is not None:
                query[name] = value
        return query.urlencode()

    # --- The export --------------------------------------------------------------------------------

    def export(self, filterset, export_format: str, *, valid: bool) -> HttpResponse:
        """The filtered rows as CSV (at most export_max_rows, in the list's default order), recorded
        in the audit trail."""
        from audit import services
        from audit.models import AuditAction

        if export_format != TableExport.CSV:
            return _plain(_("Only CSV can be exported."), status=400)
        if not valid:
            return _plain(
                "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()),
                status=400,
            )
        rows = list(filterset.qs[: self.export_max_rows + 1])
        truncated = len(rows) > self.export_max_rows
        rows = rows[: self.export_max_rows]
        exporter = ConsoleTableExport(
            export_format, self.table_class(rows), clean_cell=self.clean_export_cell
        )
        services.audit_record(
            actor=self.request.user,
            action=AuditAction.EXPORT,
            payload={
                "list": self.export_name,
                "rows": len(rows),
                "truncated": truncated,
                "filters": {
                    name: value[:200]
                    for name, value in self.request.GET.items()
                    if value and name not in CONTROL_PARAMS
                },
            },
            request=self.request,
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = HttpResponse(content_type=exporter.content_type())
        response["Content-Disposition"] = f'attachment; filename="{self.export_name}-{stamp}.csv"'
        response.write("\ufeff")  # so spreadsheet programs read Chinese text as UTF-8
        response.write(exporter.export())
        return response


def _plain(text: str, *, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


class LocalDateTimeColumn(tables.DateTimeColumn):
    """A moment in the reader's time zone (the active one: the user's, else settings.TIME_ZONE),
    the zone named in the heading; in an export, ISO 8601 with its offset, so it is unambiguous."""

    @property
    def header(self):
        return _("%(label)s (%(zone)s)") % {
            "label": super().header,
            "zone": timezone.get_current_timezone_name(),
        }

    def value(self, value, **kwargs):
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).isoformat(timespec="seconds")
        return super().value(value=value, **kwargs)

    def __init__(self, format=None, *args, **kwargs):
        super().__init__(format, *args, **kwargs)
        self.local_format = format

    def render(self, value, **kwargs):
        # As the template column's {{ value|date:format }}, without compiling a template for
        # every cell (django-tables2 builds a Template per render): a page of 50 rows and two
        # moments made 100 templates (docs/performance.md, the workbench pages).
        if isinstance(value, datetime.datetime) and self.local_format:
            return dateformat.format(timezone.localtime(value), self.local_format)
        return super().render(value=value, **kwargs)


class BoundedDateRangeField(DateRangeField):
    """A date range the database can hold: 0001-01-01 in Shanghai is before year 1 in UTC."""

    FIRST_YEAR, LAST_YEAR = 1970, 2999

    def compress(self, data_list):
        for day in data_list or ():
            if day and not self.FIRST_YEAR <= day.year <= self.LAST_YEAR:
                raise forms.ValidationError(
                    gettext_lazy("Give a date between %(first)s and %(last)s."),
                    code="out_of_range",
                    params={"first": self.FIRST_YEAR, "last": self.LAST_YEAR},
                )
        return super().compress(data_list)


class BoundedDateRangeFilter(django_filters.DateFromToRangeFilter):
    """A from–to date filter for any console list: an out-of-range date is a form error."""

    field_class = BoundedDateRangeField
