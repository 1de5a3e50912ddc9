"""Bad query strings never make a page answer 500: every URL of the project, hand-made input."""

from django.contrib import admin

from bnpl_admin.access import ANONYMOUS, SUPERUSER, access_for, expected_answer
from tests.audit.badinput import (
    COMBINED,
    QUERY_VARIANTS,
    ServerErrors,
    date_hierarchy_variants,
    quick_client,
    url,
)
from tests.audit.site_map import build_site_data, discover, sample_value, targets
from tests.conftest import login_verified


def _is_list(target) -> bool:
    return target.key.endswith("_changelist") or target.key in {
        "audit:event_list",
        "audit:event_export",
        "home",
    }


def test_no_bad_query_string_makes_a_page_fail_for_a_superuser(db, monkeypatch):
    site = build_site_data()
    client = quick_client(monkeypatch)
    login_verified(client, site.users[SUPERUSER])
    errors = ServerErrors()

    with errors.recording():
        for target in targets(discover(), sample_value(site)):
            if not _is_list(target):
                errors.get(client, url(target.path, COMBINED))
                continue
            model = target.route.admin_model
            extra = date_hierarchy_variants(admin.site._registry[model]) if model else []
            for query in [*QUERY_VARIANTS, *extra]:
                errors.get(client, url(target.path, query))

    assert not errors.found, errors.report()


def test_no_bad_query_string_makes_a_public_page_fail(db, monkeypatch):
    """Anonymous visitors reach only the public pages; every other one sends them to sign in."""
    site = build_site_data()
    client = quick_client(monkeypatch)
    errors = ServerErrors()

    with errors.recording():
        for target in targets(discover(), sample_value(site)):
            access = access_for(target.key)
            public = access is not None and ANONYMOUS in access.allowed | set(access.special)
            for query in [*QUERY_VARIANTS, COMBINED] if public else [COMBINED]:
                status = errors.get(client, url(target.path, query))
                if not public and access is not None:
                    assert status == expected_answer(access, ANONYMOUS, admin_page=target.route.is_admin)[0]

    assert not errors.found, errors.report()
