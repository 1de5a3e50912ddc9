"""Every write of the risk app: scorecard versions (draft, copy, activation by two analysts),
scoring and nightly rescoring with the limit changes it proposes, and their approval.

Each score, limit change and activation is appended to the decision log in the transaction
that writes it.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CreditLine, CreditLineStatus, Customer, Grade
from accounts.services import credit_lines_limits_set, credit_lines_scores_set
from bnpl_admin.bulk import JsonText, bulk_insert_rows, bulk_insert_values
from bnpl_admin.errors import DomainError
from decisionlog.models import DecisionKind
from decisionlog.services import canonical_text, decision_log_append, decision_log_append_many, subject_of
from policy.selectors import policy_in_force

from .characteristics import DEFINITIONS, customer_id_batches, facts_for_batch, merchant_return_rates
from .models import (
    Bin,
    Characteristic,
    CustomerScore,
    GradeBand,
    LimitChange,
    LimitChangeKind,
    LimitChangeStatus,
    Scorecard,
    ScorecardVersion,
    VersionStatus,
)
from .scoring import LoadedCard, card_load, score_values

ANALYST_PERMISSION = "risk.change_scorecardversion"
APPROVE_PERMISSION = "risk.approve_limitchange"
DEFAULT_BATCH_SIZE = 5000

# DESIGN.md, "Credit": the default grade → limit table.
DEFAULT_LIMITS = {
    Grade.A: Decimal("20000.00"),
    Grade.B: Decimal("10000.00"),
    Grade.C: Decimal("5000.00"),
    Grade.D: Decimal("1500.00"),
    Grade.E: Decimal("0.00"),
}


class RiskError(DomainError):
    pass


def _require(by, permission: str, message: str) -> None:
    if by is None or not by.has_perm(permission):
        raise RiskError(message, code="not_allowed")


# --- Scorecard versions ------------------------------------------------------------------------


@dataclass(frozen=True)
class BinSpec:
    points: int
    lower: Decimal | None = None
    upper: Decimal | None = None
    category: str = ""


@dataclass(frozen=True)
class BandSpec:
    grade: str
    min_score: int
    limit: Decimal


@transaction.atomic
def scorecard_version_draft_create(
    *,
    scorecard_name: str,
    base_points: int,
    characteristics: list[tuple[str, list[BinSpec]]],
    bands: list[BandSpec],
    fitted: dict,
    by=None,
    note: str = "",
) -> ScorecardVersion:
    """A new draft version of the named scorecard (created if new), numbered after the last."""
    for code, _bins in characteristics:
        if code not in DEFINITIONS:
            raise RiskError(_("%(code)s is not a known characteristic.") % {"code": code}, code="unknown")
    if {band.grade for band in bands} != set(Grade.values):
        raise RiskError(_("A version needs one band for each grade A to E."), code="bands")
    scorecard, _created = Scorecard.objects.get_or_create(name=scorecard_name)
    scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    number = (scorecard.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ScorecardVersion.objects.create(
        scorecard=scorecard, number=number, base_points=base_points, fitted=fitted, created_by=by, note=note
    )
    _write_content(version, characteristics=characteristics, bands=bands)
    return version


def _write_content(version, *, characteristics, bands) -> None:
    bins = []
    for position, (code, specs) in enumerate(characteristics):
        characteristic = Characteristic.objects.create(version=version, code=code, position=position)
        bins += [
            Bin(
                characteristic=characteristic,
                position=i,
                lower=spec.lower,
                upper=spec.upper,
                category=spec.category,
                points=spec.points,
            )
            for i, spec in enumerate(specs)
        ]
    Bin.objects.bulk_create(bins)
    GradeBand.objects.bulk_create(
        GradeBand(version=version, grade=band.grade, min_score=band.min_score, limit=band.limit)
        for band in bands
    )


def version_edit_check(version: ScorecardVersion) -> None:
    """A version is edited only as a draft that has scored nobody; otherwise copy it."""
    if version.status != VersionStatus.DRAFT or CustomerScore.objects.filter(version=version).exists():
        raise RiskError(
            _("This version has been used or submitted and cannot be edited; copy it to make a new draft."),
            code="in_use",
        )


@transaction.atomic
def bin_points_set(*, bin: Bin, points: int, by) -> Bin:
    """Change one bin's points on a draft version."""
    _require(by, ANALYST_PERMISSION, _("You may not edit scorecards."))
    locked = Bin.objects.select_related("characteristic__version").select_for_update().get(pk=bin.pk)
    version_edit_check(locked.characteristic.version)
    locked.points = points
    locked.save(update_fields=["points"])
    return locked


@transaction.atomic
def scorecard_version_update(*, version: ScorecardVersion, by, **fields) -> ScorecardVersion:
    """Change a draft's base points or note."""
    _require(by, ANALYST_PERMISSION, _("You may not edit scorecards."))
    locked = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    version_edit_check(locked)
    for name in fields:
        if name not in ("base_points", "note"):
            raise RiskError(
                _("Only the base points and the note of a version are edited here."), code="field"
            )
        setattr(locked, name, fields[name])
    locked._history_user = by
    locked.save(update_fields=list(fields))
    return locked


@transaction.atomic
def scorecard_version_copy(*, version: ScorecardVersion, by) -> ScorecardVersion:
    """A new draft with the same characteristics, bins and bands, to edit instead of a used version."""
    _require(by, ANALYST_PERMISSION, _("You may not edit scorecards."))
    characteristics = [
        (
            characteristic.code,
            [
                BinSpec(b.points, b.lower, b.upper, b.category)
                for b in characteristic.bins.order_by("position", "id")
            ],
        )
        for characteristic in version.characteristics.order_by("position", "id")
    ]
    bands = [BandSpec(b.grade, b.min_score, b.limit) for b in version.grade_bands.all()]
    copy = scorecard_version_draft_create(
        scorecard_name=version.scorecard.name,
        base_points=version.base_points,
        characteristics=characteristics,
        bands=bands,
        fitted={**version.fitted, "copied_from": str(version)},
        by=by,
        note=version.note,
    )
    copy.copied_from = version
    copy.save(update_fields=["copied_from"])
    return copy


@transaction.atomic
def scorecard_activation_request(*, version: ScorecardVersion, by) -> ScorecardVersion:
    """The maker: a draft goes to the approvals queue, for another analyst to activate."""
    _require(by, ANALYST_PERMISSION, _("You may not activate scorecards."))
    locked = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise RiskError(_("Only a draft version can be submitted for activation."), code="not_draft")
    if not locked.characteristics.exists():
        raise RiskError(_("A version without characteristics cannot be activated."), code="empty")
    locked.status = VersionStatus.PENDING_ACTIVATION
    locked.activation_requested_by, locked.activation_requested_at = by, timezone.now()
    locked._history_user = by
    locked.save(update_fields=["status", "activation_requested_by", "activation_requested_at"])
    return locked


@transaction.atomic
def scorecard_activate(*, version: ScorecardVersion, by, reason: str = "") -> ScorecardVersion:
    """The checker: a second analyst activates a submitted version; the active one retires."""
    _require(by, APPROVE_PERMISSION, _("You may not approve scorecard activations."))
    locked = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != VersionStatus.PENDING_ACTIVATION:
        raise RiskError(_("This version is not waiting for activation."), code="not_pending")
    if locked.activation_requested_by_id == by.pk:
        raise RiskError(
            _("You submitted this version: another analyst must activate it."), code="own_request"
        )
    now = timezone.now()
    previous = ScorecardVersion.objects.select_for_update().filter(status=VersionStatus.ACTIVE).first()
    if previous is not None:
        previous.status, previous.retired_at = VersionStatus.RETIRED, now
        previous._history_user = by
        previous.save(update_fields=["status", "retired_at"])
    locked.status, locked.activated_by, locked.activated_at = VersionStatus.ACTIVE, by, now
    locked._history_user = by
    locked.save(update_fields=["status", "activated_by", "activated_at"])
    decision_log_append(
        kind=DecisionKind.SCORECARD_ACTIVATION,
        subject=subject_of(locked),
        content={
            "scorecard": locked.scorecard.name,
            "version": locked.number,
            "requested_by": locked.activation_requested_by_id,
            "activated_by": by.pk,
            "retired": previous.pk if previous else None,
            "reason": reason,
        },
        actor=by,
    )
    return locked


@transaction.atomic
def scorecard_activation_reject(*, version: ScorecardVersion, by, reason: str) -> ScorecardVersion:
    """The checker sends a submitted version back to draft, with a reason."""
    _require(by, APPROVE_PERMISSION, _("You may not approve scorecard activations."))
    reason = (reason or "").strip()
    if not reason:
        raise RiskError(_("Rejecting needs a reason."), code="no_reason")
    locked = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != VersionStatus.PENDING_ACTIVATION:
        raise RiskError(_("This version is not waiting for activation."), code="not_pending")
    if locked.activation_requested_by_id == by.pk:
        raise RiskError(
            _("You submitted this version: another analyst must decide on it."), code="own_request"
        )
    locked.status = VersionStatus.DRAFT
    locked.activation_requested_by, locked.activation_requested_at = None, None
    locked._history_user, locked._change_reason = by, reason
    locked.save(update_fields=["status", "activation_requested_by", "activation_requested_at"])
    return locked


# --- Rescoring ---------------------------------------------------------------------------------
# One night's rescoring is a plan (the active version and ranges of customer ids) and one batch
# per range, each one transaction: in one process (customers_rescore: commands, the demo, the
# tests) or as one Celery task per batch (risk.tasks.rescore publishes them), so that workers
# rescore batches in parallel. A batch appends to the decision log last: the chain's head is
# locked from the append to the commit, so parallel batches wait for one another only there.


@dataclass
class RescoreSummary:
    business_date: datetime.date
    version_id: int | None = None
    scored: int = 0
    skipped: int = 0  # already scored by this version on this date
    applied: dict[str, int] = field(default_factory=dict)
    pending: int = 0

    def add(self, other: RescoreSummary) -> None:
        self.scored += other.scored
        self.skipped += other.skipped
        self.pending += other.pending
        for kind, count in other.applied.items():
            self.applied[kind] = self.applied.get(kind, 0) + count

    def as_dict(self) -> dict:
        return {
            "business_date": self.business_date.isoformat(),
            "version": self.version_id,
            "scored": self.scored,
            "skipped": self.skipped,
            "applied": {str(kind): count for kind, count in self.applied.items()},
            "pending": self.pending,
        }


@dataclass(frozen=True)
class RescoreContext:
    """What every batch of one night's rescoring shares: the version as plain data, the policy in
    force and the merchants' return rates (one GROUP BY over every order: read once per run, or
    once per worker process for the batches of one plan, never once per batch)."""

    on: datetime.date
    version: ScorecardVersion
    card: LoadedCard
    texts: ScoreTexts
    policy: object
    rates: dict[int, float]


class ScoreTexts:
    """The canonical JSON text (decisionlog.services.canonical_text) of a score's points and
    reasons, filled into templates made once per card: their keys and codes are the card's
    characteristics, and a json.dumps per score costs about as much as scoring it."""

    def __init__(self, card: LoadedCard):
        self.codes = sorted({c.code for c in card.characteristics})
        self.quoted = {code: json.dumps(code, ensure_ascii=False) for code in self.codes}
        pairs = ",".join(self.quoted[code].replace("%", "%%") + ":%d" for code in self.codes)
        self.points_template = "{" + pairs + "}"

    def points(self, points: dict[str, int]) -> JsonText:
        if len(points) != len(self.codes):
            return canonical_text(points)
        return JsonText(self.points_template % tuple(points[code] for code in self.codes))

    def reasons(self, reasons: list[str]) -> JsonText:
        quoted = self.quoted
        return JsonText(
            "[" + ",".join(quoted.get(c) or json.dumps(c, ensure_ascii=False) for c in reasons) + "]"
        )


def rescore_context(*, on: datetime.date, version: ScorecardVersion) -> RescoreContext:
    card = card_load(version)
    return RescoreContext(
        on=on,
        version=version,
        card=card,
        texts=ScoreTexts(card),
        policy=policy_in_force(on=on),
        rates=merchant_return_rates(on=on),
    )


def active_version() -> ScorecardVersion | None:
    return ScorecardVersion.objects.filter(status=VersionStatus.ACTIVE).select_related("scorecard").first()


def customers_rescore(
    *, on: datetime.date, version: ScorecardVersion | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> RescoreSummary:
    """Score every customer with the active version (or `version`) as of `on`, in batches of
    customers (a few queries per batch), and apply or queue the limit changes that follow; in
    this process, batch after batch (the Celery task risk.rescore publishes the same batches as
    tasks instead).

    Idempotent: a customer already scored by the version on `on` is skipped, so a rerun after a
    crash finishes the rest and a second run writes nothing. Each batch is one transaction."""
    version = version or active_version()
    summary = RescoreSummary(business_date=on)
    if version is None:
        return summary
    summary.version_id = version.pk
    context = rescore_context(on=on, version=version)
    for first_id, last_id in customer_id_batches(batch_size=batch_size):
        summary.add(rescore_batch_run(context=context, first_id=first_id, last_id=last_id))
    return summary


@dataclass(frozen=True)
class RescorePlan:
    """One night's batches: (first id, last id) ranges of customers, for the active version.
    `planned_at` names the plan: a worker keeps the context of a plan for its next batches."""

    business_date: datetime.date
    version_id: int | None
    batches: list[tuple[int, int]]
    planned_at: str

    def as_dict(self) -> dict:
        return {
            "business_date": self.business_date.isoformat(),
            "version": self.version_id,
            "batches": len(self.batches),
            "planned_at": self.planned_at,
        }


def rescore_plan(*, on: datetime.date, batch_size: int = DEFAULT_BATCH_SIZE) -> RescorePlan:
    """The batches of a night's rescoring with the active version (none without one)."""
    version = active_version()
    batches = customer_id_batches(batch_size=batch_size) if version is not None else []
    return RescorePlan(
        business_date=on,
        version_id=version.pk if version is not None else None,
        batches=batches,
        planned_at=timezone.now().isoformat(),
    )


# The context of the last plan this process ran a batch of: (date, version id, plan) → context.
_plan_contexts: dict[tuple, RescoreContext] = {}


def rescore_batch(
    *, on: datetime.date, version_id: int, first_id: int, last_id: int, plan: str = ""
) -> RescoreSummary:
    """One batch of a plan, as the task risk.rescore_batch runs it: rescore_batch_run with the
    version loaded from its id. The context is read once per plan in a process and kept for the
    plan's next batches there; without a plan it is read afresh."""
    key = (on, version_id, plan)
    context = _plan_contexts.get(key) if plan else None
    if context is None:
        version = ScorecardVersion.objects.select_related("scorecard").get(pk=version_id)
        context = rescore_context(on=on, version=version)
        if plan:
            _plan_contexts.clear()
            _plan_contexts[key] = context
    return rescore_batch_run(context=context, first_id=first_id, last_id=last_id)


def rescore_batch_run(*, context: RescoreContext, first_id: int, last_id: int) -> RescoreSummary:
    """Score the customers with first_id <= id <= last_id and apply or queue their limit changes,
    in one transaction. Idempotent: customers already scored by the version on the date are
    skipped (a batch run twice, or retried after it failed halfway and was rolled back, writes
    what one run writes); two runs of one batch at once collide on the scores' unique constraint
    and the second fails (a task retries it, and it then finds the batch done)."""
    summary = RescoreSummary(business_date=context.on, version_id=context.version.pk)
    with transaction.atomic():
        _tune_session()
        _rescore_batch(context=context, first_id=first_id, last_id=last_id, summary=summary)
    return summary


def _tune_session() -> None:
    """PostgreSQL settings for the batch's transaction (SET LOCAL ends with it), as the sweep's
    chunks take: a parallel worker started for a query of a few hundred milliseconds only
    competes with the other batches' workers for the same cores, and compiling these
    index-driven GROUP BYs with JIT costs more than it saves."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def _rescore_batch(*, context: RescoreContext, first_id: int, last_id: int, summary: RescoreSummary) -> None:
    on, version = context.on, context.version
    done = set(
        CustomerScore.objects.filter(
            version=version, business_date=on, customer_id__gte=first_id, customer_id__lte=last_id
        ).values_list("customer_id", flat=True)
    )
    summary.skipped += len(done)
    if done and len(done) >= Customer.objects.filter(id__gte=first_id, id__lte=last_id).count():
        return  # a rerun: the whole batch is scored already
    facts = facts_for_batch(
        on=on,
        first_id=first_id,
        last_id=last_id,
        merchant_rates=context.rates,
        arrears_months=context.policy.limit_increase_clean_months,
    )
    now = timezone.now()
    rows, results, texts = [], {}, []
    for customer_id, fact in facts.items():
        if customer_id in done:
            continue
        result = score_values(context.card, fact.values)
        results[customer_id] = result
        # Encoded once: the score row and its decision log entry share the points and reasons.
        points, reasons = context.texts.points(result.points), context.texts.reasons(result.reasons)
        texts.append((points, reasons))
        rows.append(
            (
                customer_id,
                version.pk,
                on,
                now,
                result.score,
                result.grade,
                points,
                JsonText(json.dumps(fact.values, separators=(",", ":"))),
                reasons,
            )
        )
    if not rows:
        return
    ids = bulk_insert_values(CustomerScore, _SCORE_FIELDS, rows)
    score_ids = dict(zip(results, ids, strict=True))
    summary.scored += len(rows)
    credit_lines_scores_set(
        rows=[(facts[c].line_id, r.score, r.grade) for c, r in results.items() if facts[c].line_id]
    )
    changes = _propose_limits(
        on=on, policy=context.policy, facts=facts, results=results, score_ids=score_ids, summary=summary
    )
    # Last, so that the chain's head is locked only from here to the commit.
    day = json.dumps(on.isoformat())
    decision_log_append_many(
        entries=[
            *(
                (
                    DecisionKind.SCORE,
                    f"accounts.customer:{customer_id}",
                    _score_content(
                        score_id=score_id, version_id=version.pk, day=day, row=row, points=p, reasons=r
                    ),
                )
                for (customer_id, score_id), row, (p, r) in zip(score_ids.items(), rows, texts, strict=True)
            ),
            *(_limit_entry(change, encoded=True) for change in changes),
        ]
    )


def _score_content(
    *, score_id: int, version_id: int, day: str, row: tuple, points: str, reasons: str
) -> JsonText:
    """A score's decision log content as canonical text (decisionlog.services.canonical_text of
    {"score_id", "version", "business_date", "score", "grade", "points", "reasons"}), built around
    the points and reasons already encoded for the score row."""
    return JsonText(
        f'{{"business_date":{day},"grade":"{row[5]}","points":{points},"reasons":{reasons},'
        f'"score":{row[4]:d},"score_id":{score_id:d},"version":{version_id:d}}}'
    )


_SCORE_FIELDS = (
    "customer_id",
    "version_id",
    "business_date",
    "scored_at",
    "score",
    "grade",
    "points",
    "values",
    "reasons",
)


def _propose_limits(*, on, policy, facts, results, score_ids, summary: RescoreSummary) -> list[LimitChange]:
    """Decreases and freezes apply at once; increases up to the policy's threshold too, larger
    ones wait for a second analyst; nothing grows for a customer with recent arrears. Returns
    the limit changes written, for the decision log."""
    proposals = []  # (customer_id, kind, new_limit, status)
    for customer_id, result in results.items():
        fact = facts[customer_id]
        if fact.line_id is None or fact.line_status == CreditLineStatus.CLOSED:
            continue
        old = fact.limit or Decimal("0.00")
        new = result.limit
        if result.grade == Grade.E and fact.line_status == CreditLineStatus.ACTIVE:
            proposals.append(
                (customer_id, LimitChangeKind.FREEZE, Decimal("0.00"), LimitChangeStatus.APPLIED)
            )
        elif new < old:
            proposals.append((customer_id, LimitChangeKind.DECREASE, new, LimitChangeStatus.APPLIED))
        elif new > old and fact.line_status == CreditLineStatus.ACTIVE and not fact.arrears_recently:
            status = (
                LimitChangeStatus.APPLIED
                if new - old <= policy.limit_increase_auto_max
                else LimitChangeStatus.PENDING
            )
            proposals.append((customer_id, LimitChangeKind.INCREASE, new, status))
    if not proposals:
        return []
    asking = [p[0] for p in proposals if p[3] == LimitChangeStatus.PENDING]
    waiting = set(
        LimitChange.objects.filter(customer_id__in=asking, status=LimitChangeStatus.PENDING).values_list(
            "customer_id", flat=True
        )
    )
    proposals = [p for p in proposals if not (p[3] == LimitChangeStatus.PENDING and p[0] in waiting)]
    applying = [p[0] for p in proposals if p[3] == LimitChangeStatus.APPLIED]
    lines = {
        line.customer_id: line
        # With the customer (not locked): the audit trail names a line by its customer.
        for line in CreditLine.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(customer_id__in=applying)
        .order_by("pk")
    }
    changes, apply = [], []
    reason = _("Rescoring %(date)s") % {"date": f"{on:%Y-%m-%d}"}
    for customer_id, kind, new, status in proposals:
        line = lines.get(customer_id)
        if status == LimitChangeStatus.APPLIED:
            if line is None:
                continue
            apply.append((line, new, kind == LimitChangeKind.FREEZE))
            summary.applied[kind] = summary.applied.get(kind, 0) + 1
        else:
            summary.pending += 1
        changes.append(
            LimitChange(
                customer_id=customer_id,
                score_id=score_ids[customer_id],
                business_date=on,
                kind=kind,
                status=status,
                old_limit=line.limit if line is not None else (facts[customer_id].limit or Decimal("0.00")),
                new_limit=new,
                old_grade=facts[customer_id].grade,
                new_grade=results[customer_id].grade,
                reason=reason,
            )
        )
    bulk_insert_rows(changes)
    LimitChange.history.bulk_history_create(changes, default_change_reason=reason[:100], batch_size=500)
    credit_lines_limits_set(changes=apply, reason=reason)
    return changes


def _limit_entry(change: LimitChange, *, encoded: bool = False) -> tuple:
    """A limit change's decision log entry; `encoded`: its content as canonical text already
    (amounts and the date as the log stores them), for a batch's many entries."""
    content = {
        "limit_change_id": change.pk,
        "kind": change.kind,
        "status": change.status,
        "old_limit": change.old_limit,
        "new_limit": change.new_limit,
        "old_grade": change.old_grade,
        "new_grade": change.new_grade,
        "business_date": change.business_date,
        "reason": change.decision_reason or change.reason,
        "decided_by": change.decided_by_id,
    }
    if encoded:
        content = canonical_text(
            {
                **content,
                "old_limit": str(change.old_limit),
                "new_limit": str(change.new_limit),
                "business_date": change.business_date.isoformat(),
            }
        )
    return (DecisionKind.LIMIT_CHANGE, f"accounts.customer:{change.customer_id}", content)


def customer_score(*, customer: Customer, on: datetime.date, version: ScorecardVersion | None = None):
    """Score one customer now (the same engine, a batch of one); the score, or None without a card."""
    version = version or active_version()
    if version is None:
        return None
    rescore_batch_run(
        context=rescore_context(on=on, version=version), first_id=customer.pk, last_id=customer.pk
    )
    return CustomerScore.objects.filter(customer=customer, version=version, business_date=on).first()


# --- Approvals of limit increases --------------------------------------------------------------


def _pending_locked(change: LimitChange) -> LimitChange:
    locked = LimitChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != LimitChangeStatus.PENDING:
        raise RiskError(_("This limit change is not waiting for approval."), code="not_pending")
    return locked


@transaction.atomic
def limit_change_approve(*, change: LimitChange, by, reason: str = "") -> LimitChange:
    """A second analyst approves a pending increase: the limit is set, the log written."""
    _require(by, APPROVE_PERMISSION, _("You may not approve limit changes."))
    locked = _pending_locked(change)
    if locked.proposed_by_id is not None and locked.proposed_by_id == by.pk:
        raise RiskError(_("You proposed this change: another analyst must approve it."), code="own_request")
    line = CreditLine.objects.select_for_update().get(customer_id=locked.customer_id)
    if line.status != CreditLineStatus.ACTIVE:
        raise RiskError(
            _("The credit line is not active any more; reject the increase instead."), code="inactive"
        )
    if line.limit != locked.old_limit:
        # Rescoring lowered (or someone changed) the limit since: the proposal is stale.
        raise RiskError(
            _("The limit changed since this increase was proposed; reject it and propose again."),
            code="stale",
        )
    locked.status, locked.decided_by, locked.decided_at = LimitChangeStatus.APPROVED, by, timezone.now()
    locked.decision_reason = (reason or "").strip()[:200]
    locked._history_user = by
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    credit_lines_limits_set(
        changes=[(line, locked.new_limit, False)],
        reason=_("Limit increase approved: %(reason)s") % {"reason": locked.decision_reason or "-"},
        by=by,
    )
    decision_log_append(
        **dict(zip(("kind", "subject", "content"), _limit_entry(locked), strict=True)), actor=by
    )
    return locked


@transaction.atomic
def limit_change_reject(*, change: LimitChange, by, reason: str) -> LimitChange:
    """A second analyst rejects a pending increase, with a reason; the limit stays."""
    _require(by, APPROVE_PERMISSION, _("You may not approve limit changes."))
    reason = (reason or "").strip()
    if not reason:
        raise RiskError(_("Rejecting needs a reason."), code="no_reason")
    locked = _pending_locked(change)
    if locked.proposed_by_id is not None and locked.proposed_by_id == by.pk:
        raise RiskError(_("You proposed this change: another analyst must decide on it."), code="own_request")
    locked.status, locked.decided_by, locked.decided_at = LimitChangeStatus.REJECTED, by, timezone.now()
    locked.decision_reason = reason[:200]
    locked._history_user = by
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    decision_log_append(
        **dict(zip(("kind", "subject", "content"), _limit_entry(locked), strict=True)), actor=by
    )
    return locked


@transaction.atomic
def limit_increase_propose(
    *, customer: Customer, new_limit: Decimal, by, reason: str, on: datetime.date
) -> LimitChange:
    """An analyst proposes a limit increase by hand; it always waits for a second analyst."""
    _require(by, ANALYST_PERMISSION, _("You may not propose limit changes."))
    reason = (reason or "").strip()
    if not reason:
        raise RiskError(_("A limit change needs a reason."), code="no_reason")
    line = CreditLine.objects.select_for_update().get(customer=customer)
    if new_limit <= line.limit:
        raise RiskError(_("The new limit must be above the current one."), code="not_increase")
    if new_limit > DEFAULT_LIMITS[Grade.A]:
        raise RiskError(_("A limit is at most ¥20,000."), code="too_high")
    if LimitChange.objects.filter(customer=customer, status=LimitChangeStatus.PENDING).exists():
        raise RiskError(_("This customer already has a limit change waiting for approval."), code="pending")
    change = LimitChange.objects.create(
        customer=customer,
        business_date=on,
        kind=LimitChangeKind.INCREASE,
        status=LimitChangeStatus.PENDING,
        old_limit=line.limit,
        new_limit=new_limit,
        old_grade=line.grade,
        new_grade=line.grade,
        reason=reason[:200],
        proposed_by=by,
    )
    decision_log_append(
        **dict(zip(("kind", "subject", "content"), _limit_entry(change), strict=True)), actor=by
    )
    return change
