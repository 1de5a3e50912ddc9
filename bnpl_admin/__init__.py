"""Project package: settings, URLs and the Celery app of the BNPL staff console."""

from .celery import app as celery_app

__all__ = ("celery_app",)
