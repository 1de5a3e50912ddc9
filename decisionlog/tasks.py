"""Thin Celery tasks of the decision log: verify the chain on request from the console."""

from celery import shared_task

from .models import ChainVerification
from .services import chain_verification_run


@shared_task(name="decisionlog.verify_chain")
def chain_verification_run_task(verification_id: int) -> str:
    verification = ChainVerification.objects.filter(pk=verification_id).first()
    if verification is None:
        return "gone"
    return chain_verification_run(verification=verification).status
