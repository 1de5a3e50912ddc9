"""Bad ids in URL parameters (not a number, too big, negative) never make a page answer 500."""

from fnmatch import fnmatchcase

from bnpl_admin.access import SUPERUSER
from tests.audit.badinput import BAD_IDS, ServerErrors, quick_client
from tests.audit.site_map import build_site_data, discover, fill, sample_value
from tests.conftest import login_verified

# Server errors found here in code the audit work does not own, reported to its owners. Each
# entry must keep failing (test_known_server_errors_are_still_there): when one is fixed, its
# entry goes, so the list only ever shrinks.
# Pages known to fail on a bad id; the test fails when one is fixed, so the list only shrinks.
KNOWN_SERVER_ERRORS: dict[str, str] = {}


def _known(path: str) -> bool:
    return any(fnmatchcase(path, pattern) for pattern in KNOWN_SERVER_ERRORS)


def test_no_bad_id_makes_a_page_fail(db, monkeypatch):
    """GET every URL with each parameter in turn replaced by each bad value, as a superuser."""
    site = build_site_data()
    client = quick_client(monkeypatch)
    login_verified(client, site.users[SUPERUSER])
    sample = sample_value(site)
    errors = ServerErrors()
    tried = 0
    with errors.recording():
        for route in discover():
            good = {name: route.choices.get(name, (None,))[0] or sample(route, name) for name in route.params}
            for name in route.params:
                if name in route.choices:
                    continue  # a regex alternation: any other value does not reach this view
                for bad in BAD_IDS:
                    errors.get(client, "/" + fill(route.route, {**good, name: bad}))
                    tried += 1

    assert tried > 100
    failing = {found.split()[1] for found in errors.found}
    errors.found = [found for found in errors.found if not _known(found.split()[1])]
    assert not errors.found, errors.report()
    fixed = [p for p in KNOWN_SERVER_ERRORS if not any(fnmatchcase(path, p) for path in failing)]
    assert not fixed, (
        f"these answer without a server error now; remove them from KNOWN_SERVER_ERRORS: {fixed}"
    )
