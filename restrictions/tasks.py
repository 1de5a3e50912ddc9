"""Thin Celery tasks of restrictions: run a bulk job (idempotent; a retry resumes)."""

from celery import shared_task

from .models import RestrictionJob
from .services import restriction_job_run


@shared_task(name="restrictions.run_job", acks_late=True, reject_on_worker_lost=True)
def restriction_job_run_task(job_id: int) -> str:
    # acks_late + reject_on_worker_lost: a worker killed mid-job gives the message back, and the
    # next worker resumes the job after its last whole batch.
    job = RestrictionJob.objects.filter(pk=job_id).first()
    if job is None:
        return "gone"
    return restriction_job_run(job=job).status
