"""What every console list page does, checked for each one (bnpl_admin.lists.ObjectListView).

The lists are found by themselves: every URL whose view is an ObjectListView. Who may open each
comes from bnpl_admin.access, and rows from tests/lists/rows.py. A new list gets these tests by
adding its URL, its access entry and its row maker.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from bnpl_admin.access import ANONYMOUS, ROLES, SUPERUSER, access_for
from bnpl_admin.lists import LIST_VIEWS, TABLE_TARGET, ObjectListView
from tests.conftest import login_verified
from tests.factories import UserFactory
from tests.lists.rows import ROW_MAKERS


@dataclass(frozen=True)
class ListPage:
    key: str  # "namespace:name", as bnpl_admin.access keys it
    view: type[ObjectListView]

    @property
    def path(self) -> str:
        return reverse(self.key)

    def __str__(self) -> str:
        return self.key


def _routed_lists(resolver=None, namespace: str = "") -> list[ListPage]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _routed_lists(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            view = getattr(entry.callback, "view_class", None)
            # An export-only address of a list (as_view(export_format=...)) is not a page.
            if (
                isinstance(view, type)
                and issubclass(view, ObjectListView)
                and not entry.callback.view_initkwargs.get("export_format")
            ):
                found.append(ListPage(f"{namespace}{entry.name}", view))
    return found


LISTS = _routed_lists()


def test_every_list_view_has_a_page_an_access_rule_and_rows():
    assert LISTS, "no console list found"
    assert {page.view for page in LISTS} == set(LIST_VIEWS), "an ObjectListView without a URL"
    for page in LISTS:
        assert access_for(page.key) is not None, f"{page}: declare who may open it in bnpl_admin.access"
        assert page.key in ROW_MAKERS, f"{page}: add a row maker to tests/lists/rows.py"
        assert page.view.export_name, f"{page}: name its export"


def _user(principal: str):
    if principal == SUPERUSER:
        from accounts.models import User

        existing = User.objects.filter(username="root").first()
        return existing or User.objects.create_superuser("root", "root@example.com", "correct horse battery")
    return UserFactory(roles=[Role(principal)], language="en")


def _client(principal: str, language: str = "en") -> Client:
    client = Client()
    user = _user(principal)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    login_verified(client, user)
    return client


def _reader(page: ListPage) -> str:
    allowed = sorted(access_for(page.key).allowed - {ANONYMOUS, SUPERUSER})
    return allowed[0] if allowed else SUPERUSER


def _ids(response) -> list:
    return [row.record.pk for row in response.context["table"].page.object_list]


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_who_may_open_the_list(db, page):
    access = access_for(page.key)
    for principal in [*ROLES, SUPERUSER]:
        response = _client(principal).get(page.path)
        expected = 200 if principal in access.allowed else 403
        assert response.status_code == expected, principal
        export = _client(principal).get(page.path, {"_export": "csv"})
        assert export.status_code == expected, f"{principal}, export"
    anonymous = Client().get(page.path)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_the_query_count_does_not_grow_with_the_rows(db, page, django_assert_max_num_queries):
    client = _client(_reader(page))
    make = ROW_MAKERS[page.key]
    make(8)
    client.get(page.path)  # the session and the permission cache are warm from here on
    with CaptureQueriesContext(connection) as few:
        assert client.get(page.path).status_code == 200
    make(60)
    with django_assert_max_num_queries(len(few)):
        response = client.get(page.path, {"per_page": 100})
    assert response.status_code == 200 and len(_ids(response)) > 60


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_a_later_page_holds_the_next_rows_with_their_figures(db, page):
    """Past the first page the rows are read by key after their ids (a deferred join,
    bnpl_admin.lists): the same rows, in the same order, with the same figures as the whole list."""
    client = _client(_reader(page))
    ROW_MAKERS[page.key](30)
    table = page.view.table_class(page.view.selector(user=AnonymousUser()).none())
    orderable = [column.name for column in table.columns if column.orderable]
    for sort in [None, *(f"{sign}{name}" for name in orderable[:2] for sign in ("", "-"))]:
        query = {"sort": sort} if sort else {}
        whole = client.get(page.path, {**query, "per_page": 100}).context["table"]
        second = client.get(page.path, {**query, "per_page": 25, "page": 2}).context["table"]
        assert [row.record.pk for row in second.page.object_list] == [
            row.record.pk for row in whole.page.object_list
        ][25:50], sort
        cells = lambda rows: [list(row) for row in rows]  # noqa: E731
        assert cells(second.page.object_list) == cells(whole.page.object_list[25:50]), sort


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_every_orderable_column_sorts_both_ways(db, page):
    client = _client(_reader(page))
    ROW_MAKERS[page.key](12)
    table = page.view.table_class(page.view.selector(user=AnonymousUser()).none())
    orderable = [column.name for column in table.columns if column.orderable]
    for name in orderable:
        ascending = _ids(client.get(page.path, {"sort": name, "per_page": 100}))
        descending = _ids(client.get(page.path, {"sort": f"-{name}", "per_page": 100}))
        assert len(ascending) >= 12, name
        assert ascending == descending[::-1], f"{name} does not sort (or has no tiebreak)"
    # A column that is not orderable, or not a column, is ignored rather than an error.
    assert client.get(page.path, {"sort": "no_such_column"}).status_code == 200


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_the_page_size_is_one_of_the_choices(db, page):
    client = _client(_reader(page))
    ROW_MAKERS[page.key](4)
    default = client.get(page.path).context["per_page"]
    assert default in page.view.per_page_choices
    for chosen in page.view.per_page_choices:
        assert client.get(page.path, {"per_page": chosen}).context["per_page"] == chosen
    for bad in ["0", "-1", "abc", "1e9", str(10**30), "25.0", "", "\x00", "101"]:
        response = client.get(page.path, {"per_page": bad})
        assert response.status_code == 200, bad
        assert response.context["per_page"] == default, bad
    for bad in ["0", "-3", "abc", str(10**20)]:
        assert client.get(page.path, {"page": bad}).status_code == 200, bad


def _filter_keys(page: ListPage) -> list[str]:
    """The query parameters the list's filter form reads (a date range reads two)."""
    form = page.view.filterset_class(queryset=page.view.selector(user=AnonymousUser()).none()).form
    keys = []
    for name, field in form.fields.items():
        suffixes = getattr(field.widget, "widgets_names", None)
        keys += [f"{name}{suffix}" for suffix in suffixes] if suffixes else [name]
    return keys


_junk = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=120),
    st.integers().map(str),
    st.sampled_from(["0001-01-01", "9999-12-31", "-1", "1e400", "NaN", "' OR 1=1 --"]),
)


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_any_filter_input_is_a_page_or_a_form_error(db, page):
    client = _client(_reader(page))
    ROW_MAKERS[page.key](2)
    keys = _filter_keys(page)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.dictionaries(st.sampled_from(keys), _junk, max_size=len(keys)))
    def check(data):
        response = client.get(page.path, data)
        assert response.status_code == 200, data
        filterset = response.context["filter"]
        if filterset.errors:
            assert _ids(response) == [], data
        export = client.get(page.path, {**data, "_export": "csv"})
        assert export.status_code == (400 if filterset.errors else 200), data

    check()


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_the_export_is_the_filtered_list_and_is_audited(db, page):
    client = _client(_reader(page))
    ROW_MAKERS[page.key](6)
    shown = client.get(page.path, {"per_page": 100})
    table = shown.context["table"]
    before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()

    response = client.get(page.path, {"_export": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{page.view.export_name}-' in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == [
        str(column.header) for column in table.columns.iterall() if not column.column.exclude_from_export
    ]
    assert len(rows) == len(_ids(shown))
    record = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("-id").first()
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == before + 1
    assert record.payload["list"] == page.view.export_name and record.payload["rows"] == len(rows)
    assert client.get(page.path, {"_export": "xlsx"}).status_code == 400


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_an_htmx_request_gets_the_table_alone(db, page):
    client = _client(_reader(page))
    ROW_MAKERS[page.key](3)

    whole = client.get(page.path).content.decode()
    part = client.get(page.path, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=TABLE_TARGET).content.decode()

    assert "<html" in whole and f'id="{TABLE_TARGET}"' in whole
    assert part.lstrip().startswith(f'<section id="{TABLE_TARGET}"')
    assert "<html" not in part and "<header" not in part and "<table" in part
    # Another htmx target (a future widget on the page) gets the whole page, as without htmx.
    other = client.get(page.path, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="elsewhere").content.decode()
    assert "<html" in other


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_the_list_reads_as_chinese(db, page, english_messages):
    from tests.hardening.test_zh_pages import _leaks, _raw_choice_values

    with translation.override("zh-hans"):
        ROW_MAKERS[page.key](8)
    client = _client(_reader(page), language="zh-hans")

    for query in ({}, {"per_page": "abc", "page": "x"}):
        html = client.get(page.path, query).content.decode()
        assert not _leaks(html, english_messages, _raw_choice_values()), query
    errors = client.get(page.path, dict.fromkeys(_filter_keys(page), "\x01bad")).content.decode()
    assert not _leaks(errors, english_messages, _raw_choice_values())


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_the_cells_are_those_django_tables2_renders(db, page):
    """The console table writes its cells by a plan made once per render
    (accounts/templatetags/console_tables.py): every cell of every list, compared with
    django-tables2's own BoundRow rendering of the same row."""
    from django.template import Context

    from accounts.templatetags.console_tables import _Cells, console_cells, reference_cells

    client = _client(_reader(page))
    ROW_MAKERS[page.key](6)
    response = client.get(page.path)
    assert response.status_code == 200
    table = response.context["table"]
    rows = list(table.page.object_list)
    assert rows, f"{page}: the row maker made no visible rows"
    context = Context()  # as a page's: autoescaping, the active language's formats
    for row in rows:
        planned = [str(cell) for _column, cell in _Cells(table).items(row)]
        assert planned == [str(cell) for cell in reference_cells(row)], row.record
        # And the HTML, as the template loop wrote it before the tag.
        assert console_cells(context, row) == _template_cells(context, row), row.record


def _template_cells(context, row) -> str:
    """What templates/console/table.html's loop wrote for a row before console_cells."""
    from django.template.base import render_value_in_context
    from django.utils.html import format_html, strip_tags
    from django.utils.safestring import SafeData, mark_safe

    cells = []
    for column, cell in row.items():
        text = strip_tags(str(cell))
        if isinstance(cell, SafeData):
            text = mark_safe(text)
        wraps = "wrap" in (column.attrs["td"].get("class") or "")
        title = format_html(' title="{}"', text) if text and not wraps else ""
        rendered = render_value_in_context(cell, context)
        cells.append(format_html("<td {}{}>{}</td>", column.attrs["td"].as_html(), title, rendered))
    return "".join(cells)
