"""bench.rescore at a tiny scale: two OS processes each running every other batch write what one
process writes (by the benchmark's own checksums), and a second night rescores everyone.
Correctness only, never timings."""

import datetime

import pytest
from django.db import transaction

from bench.book import book_build
from bench.rescore import _activate_version, book_checksums, night_figures, rescore_in_processes
from decisionlog.services import decision_log_verify
from risk import services

# Built outside a test transaction: the loader copies on its own connections, and the two
# processes read what is committed.
pytestmark = pytest.mark.django_db(transaction=True)

ON = datetime.date(2026, 3, 20)


def test_two_processes_write_what_one_process_writes_on_two_nights(postgres_only):
    book = book_build(scale=0.0001, on=ON, seed=3)
    _activate_version(print)
    expected = {}
    with transaction.atomic():
        for on in (ON, ON + datetime.timedelta(days=1)):
            services.customers_rescore(on=on, batch_size=4)
            expected[on] = book_checksums()
        transaction.set_rollback(True)

    for on in (ON, ON + datetime.timedelta(days=1)):
        plan = rescore_in_processes(on=on, batch_size=4)
        assert plan["batches"] == 7  # 25 customers
        assert night_figures(on)["scored"] == book.customers
        assert book_checksums() == expected[on]
    assert night_figures(ON)["limit_changes"]  # the first night changed limits
    assert decision_log_verify().ok
