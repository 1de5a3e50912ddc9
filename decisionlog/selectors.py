"""Reads of the decision log: the list for the console, one entry, the daily anchors, the last
verification."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDate

from .models import ChainHead, ChainVerification, DecisionLogEntry

VIEW_PERMISSION = "decisionlog.view_decisionlogentry"


def decision_log_entries(*, user) -> QuerySet[DecisionLogEntry]:
    """Entries, newest first, for those who may read the log (the whole log or nothing)."""
    if not user.has_perm(VIEW_PERMISSION):
        return DecisionLogEntry.objects.none()
    return DecisionLogEntry.objects.select_related("actor").order_by("-sequence")


def chain_head() -> ChainHead | None:
    return ChainHead.objects.filter(pk=1).first()


@dataclass(frozen=True)
class DailyAnchor:
    day: datetime.date
    entries: int  # appended that day
    last_sequence: int
    head_hash: str  # the chain's head at the end of the day


def daily_anchors(*, days: int = 60) -> list[DailyAnchor]:
    """The head hash at the end of each business day (TIME_ZONE) that had entries, newest first:
    the hash of the day's last entry, which commits to every entry before it. An auditor copies
    these out of the system; a later verification, or the same day shown with another hash,
    proves an edit. Computed (two queries), not stored: see docs/decision-log.md."""
    zone = ZoneInfo(settings.TIME_ZONE)
    per_day = list(
        DecisionLogEntry.objects.annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values("day")
        .annotate(last=Max("sequence"), entries=Count("id"))
        .order_by("-day")[:days]
    )
    hashes = dict(
        DecisionLogEntry.objects.filter(sequence__in=[row["last"] for row in per_day]).values_list(
            "sequence", "entry_hash"
        )
    )
    return [
        DailyAnchor(
            day=row["day"],
            entries=row["entries"],
            last_sequence=row["last"],
            head_hash=hashes.get(row["last"], ""),
        )
        for row in per_day
    ]


def verification_latest() -> ChainVerification | None:
    return ChainVerification.objects.select_related("requested_by").first()
