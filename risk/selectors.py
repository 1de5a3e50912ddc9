"""Every read of the risk pages: scorecards, versions with their content, the approvals queue,
a customer's scores and limit changes."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Customer

from .models import (
    Characteristic,
    CustomerScore,
    LimitChange,
    LimitChangeStatus,
    ScorecardVersion,
    VersionStatus,
)


def scorecard_versions(*, user) -> QuerySet[ScorecardVersion]:
    """Every version, newest first per scorecard, with who made, requested and activated it."""
    return ScorecardVersion.objects.select_related(
        "scorecard", "created_by", "activation_requested_by", "activated_by"
    ).order_by("scorecard__name", "-number")


def version_detail(*, pk: int) -> ScorecardVersion:
    return (
        ScorecardVersion.objects.select_related(
            "scorecard", "created_by", "activation_requested_by", "activated_by", "copied_from__scorecard"
        )
        .prefetch_related(
            Prefetch(
                "characteristics",
                queryset=Characteristic.objects.prefetch_related("bins").order_by("position", "id"),
            ),
            "grade_bands",
        )
        .get(pk=pk)
    )


def version_grade_counts(*, version: ScorecardVersion) -> dict[str, int]:
    """How many customers the version put in each grade on the last date it scored."""
    last = (
        CustomerScore.objects.filter(version=version)
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )
    if last is None:
        return {}
    rows = (
        CustomerScore.objects.filter(version=version, business_date=last)
        .values("grade")
        .annotate(n=Count("id"))
    )
    return {row["grade"]: row["n"] for row in rows}


def pending_limit_changes(*, user) -> QuerySet[LimitChange]:
    """Limit increases waiting for a second analyst, oldest first."""
    return (
        LimitChange.objects.filter(status=LimitChangeStatus.PENDING)
        .select_related("customer", "score", "proposed_by")
        .order_by("proposed_at", "id")
    )


def pending_activations() -> QuerySet[ScorecardVersion]:
    return (
        ScorecardVersion.objects.filter(status=VersionStatus.PENDING_ACTIVATION)
        .select_related("scorecard", "activation_requested_by")
        .order_by("activation_requested_at", "id")
    )


def customer_risk(*, customer_id: int) -> Customer:
    return Customer.objects.select_related("credit_line").get(pk=customer_id)


def customer_scores(*, customer: Customer, limit: int = 30) -> list[CustomerScore]:
    return list(
        CustomerScore.objects.filter(customer=customer)
        .select_related("version__scorecard")
        .order_by("-business_date", "-id")[:limit]
    )


def customer_limit_changes(*, customer: Customer, limit: int = 30) -> list[LimitChange]:
    return list(
        LimitChange.objects.filter(customer=customer)
        .select_related("proposed_by", "decided_by")
        .order_by("-proposed_at", "-id")[:limit]
    )
