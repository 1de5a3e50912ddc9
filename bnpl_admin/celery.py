"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready

from bnpl_admin.logging import (
    task_postrun_reset_request_id,
    task_prerun_set_request_id,
    task_publish_add_request_id,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bnpl_admin.settings.local")

app = Celery("bnpl_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_embedded_broker_folders(sender, **kwargs):
    """The filesystem transport needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


# A task published during a request logs, on the worker, under that request's id.
before_task_publish.connect(task_publish_add_request_id, dispatch_uid="bnpl_request_id_publish")
task_prerun.connect(task_prerun_set_request_id, dispatch_uid="bnpl_request_id_prerun")
task_postrun.connect(task_postrun_reset_request_id, dispatch_uid="bnpl_request_id_postrun")


@worker_ready.connect
def _announce_ready(sender, **kwargs):
    print(f"BNPL worker ready on {sender.app.conf.broker_url.split('@')[-1]}", flush=True)


@app.task(name="bnpl.ping")
def ping() -> str:
    """A round trip through the broker: the health check and the tests send it."""
    return "pong"


def task_queues_declare() -> None:
    """Declare the task queues (and their bindings) on the broker again.

    A Redis that lost its data (a restart without persistence, a flush) forgets the bindings
    that route messages to the queues; a worker declares them when it (re)connects, but a
    publisher whose connection survived would have its messages refused until then. Called by
    the periodic recoveries (sweep watchdog, reminder dispatch) before they publish."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()
