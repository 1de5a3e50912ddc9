"""Every write to home visits: request, approve or reject, check in and out, the outcome and its
photos. Each checks the rules of DESIGN.md ("Home visits") and moves the case along its map."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.masking import scrub_text
from accounts.models import Customer
from accounts.roles import Role
from bnpl_admin.dates import business_date, date_in_bounds, moment_in_bounds
from bnpl_admin.errors import DomainError
from collection.models import CASE_TRANSITIONS, CaseEvent, CaseEventType, CaseStatus, CollectionCase
from collection.services import case_transition

from .models import (
    APPROVE_PERMISSION,
    CANCELLABLE_STATUSES,
    CHECK_IN_PERMISSION,
    OUTCOME_PERMISSION,
    REQUEST_PERMISSION,
    Visit,
    VisitOutcome,
    VisitPhoto,
    VisitStatus,
)
from .photos import CheckedPhoto, photo_check
from .selectors import (
    VISIT_WINDOW_END,
    VISIT_WINDOW_START,
    case_has_open_visit,
    case_is_eligible,
    customer_amount_overdue,
    customer_has_pending_promise,
    in_visiting_hours,
    visit_zone,
)

REASON_MAX_LENGTH = 1000
NOTES_MAX_LENGTH = 4000
MAX_PHOTOS = 5


class VisitError(DomainError):
    pass


@dataclass(frozen=True)
class Position:
    """Where the browser said the agent was (Geolocation API); None instead of one: refused."""

    latitude: Decimal
    longitude: Decimal
    accuracy: Decimal | None = None

    @classmethod
    def parse(cls, latitude, longitude, accuracy=None) -> Position:
        """From the strings a form posts; VisitError for anything that is not a place on Earth."""
        try:
            lat, lon = Decimal(str(latitude)), Decimal(str(longitude))
            acc = Decimal(str(accuracy)) if accuracy not in (None, "") else None
        except (InvalidOperation, ValueError) as exc:
            raise VisitError(_("The position is not valid."), code="bad_position") from exc
        position = cls(latitude=lat, longitude=lon, accuracy=acc)
        position.check()
        return position

    def check(self) -> None:
        ok = (
            self.latitude.is_finite()
            and self.longitude.is_finite()
            and Decimal(-90) <= self.latitude <= Decimal(90)
            and Decimal(-180) <= self.longitude <= Decimal(180)
            and (self.accuracy is None or (self.accuracy.is_finite() and 0 <= self.accuracy < 10**7))
        )
        if not ok:
            raise VisitError(_("The position is not valid."), code="bad_position")

    def stored(self) -> tuple[Decimal, Decimal, Decimal | None]:
        return (
            self.latitude.quantize(Decimal("0.000001")),
            self.longitude.quantize(Decimal("0.000001")),
            self.accuracy.quantize(Decimal("0.1")) if self.accuracy is not None else None,
        )


# --- The rules ------------------------------------------------------------------------------------


def _customer_may_be_visited(customer: Customer) -> None:
    """DESIGN.md: no visit to a customer who has paid, or who holds a promise not yet broken."""
    if customer_amount_overdue(customer_id=customer.pk) <= 0:
        raise VisitError(_("The customer owes nothing overdue: there is nothing to visit for."), code="paid")
    if customer_has_pending_promise(customer_id=customer.pk):
        raise VisitError(
            _("The customer holds a promise to pay that is not yet due or broken: no visit meanwhile."),
            code="promise_pending",
        )


def _in_hours(*, at: datetime.datetime, customer: Customer, what: str) -> None:
    zone = visit_zone(customer)
    if not in_visiting_hours(at=at, zone=zone):
        raise VisitError(
            _(
                "%(what)s at %(local)s in the customer's time zone (%(zone)s): visits are made only "
                "between %(start)s and %(end)s local time."
            )
            % {
                "what": what,
                "local": at.astimezone(zone).strftime("%H:%M"),
                "zone": zone.key,
                "start": VISIT_WINDOW_START.strftime("%H:%M"),
                "end": VISIT_WINDOW_END.strftime("%H:%M"),
            },
            code="outside_hours",
        )


def _two_field_agents(field_agents: Sequence) -> tuple:
    agents = [agent for agent in field_agents if agent is not None]
    if len(agents) < 2:
        raise VisitError(_("A home visit is made by two field agents: choose two."), code="too_few_agents")
    if len(agents) > 2:
        raise VisitError(_("A home visit is made by exactly two field agents."), code="too_many_agents")
    first, second = agents
    if first.pk == second.pk:
        raise VisitError(
            _("Choose two different field agents: one person cannot be both."), code="same_agent"
        )
    for agent in agents:
        if not agent.is_active or not agent.groups.filter(name=Role.FIELD_AGENT).exists():
            raise VisitError(
                _("%(name)s is not an active field agent.") % {"name": agent.get_username()},
                code="not_a_field_agent",
            )
    return first, second


def _locked_visit(visit: Visit) -> Visit:
    # Lock order as everywhere (STYLE.md): customer, then its case, then the visit.
    Customer.objects.select_for_update().only("pk").get(pk=visit.customer_id)
    CollectionCase.objects.select_for_update().only("pk").get(pk=visit.case_id)
    return Visit.objects.select_for_update().select_related("customer", "case").get(pk=visit.pk)


def _event(visit: Visit, type_: CaseEventType, by, at: datetime.datetime, **payload) -> None:
    CaseEvent.objects.create(
        case_id=visit.case_id, type=type_, actor=by, created_at=at, payload={"visit": visit.pk, **payload}
    )


def _save(visit: Visit, by, reason: str, fields: list[str]) -> None:
    visit._history_user = by
    visit._change_reason = reason[:100]
    visit.save(update_fields=fields)


def _require(user, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise VisitError(message, code="not_allowed")


# --- Request, approve, reject ---------------------------------------------------------------------


@transaction.atomic
def visit_request(
    *,
    case: CollectionCase,
    by,
    reason: str,
    proposed_date: datetime.date,
    manager_decision: bool = False,
    now: datetime.datetime | None = None,
) -> Visit:
    """An agent asks for a home visit on an eligible case (M3 or later, or a manager's decision).

    The case becomes "visit requested", with a VISIT_REQUESTED event on its timeline.
    """
    now = now or timezone.now()
    _require(by, REQUEST_PERMISSION, _("You may not request home visits."))
    reason = scrub_text((reason or "").strip())
    if not reason:
        raise VisitError(_("Say why the visit is needed."), code="no_reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise VisitError(_("The reason is too long."), code="reason_too_long")
    if not isinstance(proposed_date, datetime.date) or not date_in_bounds(proposed_date):
        raise VisitError(_("The proposed date is not valid."), code="bad_date")
    if proposed_date < business_date(now):
        raise VisitError(_("The proposed date is in the past."), code="date_past")
    Customer.objects.select_for_update().only("pk").get(pk=case.customer_id)
    case = CollectionCase.objects.select_for_update().select_related("customer").get(pk=case.pk)
    if not CollectionCase.objects.visible_to(by).filter(pk=case.pk).exists():
        raise VisitError(_("This case is not in your queues."), code="not_visible")
    if not case.is_open:
        raise VisitError(_("Home visits are requested on open cases only."), code="case_closed")
    if manager_decision and not by.has_perm(APPROVE_PERMISSION):
        raise VisitError(
            _("Only a collections manager may decide a visit outside M3 and later."), code="not_allowed"
        )
    if not manager_decision and not case_is_eligible(case):
        raise VisitError(
            _(
                "A home visit is for cases in M3 or later (this case is %(bucket)s), "
                "or by a manager's decision."
            )
            % {"bucket": case.get_bucket_display()},
            code="not_eligible",
        )
    if case_has_open_visit(case_id=case.pk):
        raise VisitError(_("This case already has a home visit on the way."), code="visit_open")
    if CaseStatus.VISIT_REQUESTED not in CASE_TRANSITIONS[CaseStatus(case.status)]:
        raise VisitError(
            _("A case that is %(status)s cannot have a home visit requested.")
            % {"status": case.get_status_display()},
            code="bad_transition",
        )
    _customer_may_be_visited(case.customer)
    visit = Visit(
        case=case,
        customer=case.customer,
        requested_by=by,
        requested_at=now,
        reason=reason,
        proposed_date=proposed_date,
        manager_decision=manager_decision,
    )
    visit._history_user = by
    visit._change_reason = "visit_request"
    visit.save()
    case_transition(case=case, to=CaseStatus.VISIT_REQUESTED, by=by)
    _event(
        visit,
        CaseEventType.VISIT_REQUESTED,
        by,
        now,
        proposed_date=proposed_date.isoformat(),
        reason=reason,
        manager_decision=manager_decision,
    )
    return visit


@transaction.atomic
def visit_approve(
    *,
    visit: Visit,
    by,
    field_agents: Sequence,
    scheduled_for: datetime.datetime,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Visit:
    """A collections manager approves a requested visit, naming its two field agents and its time.

    Refused for one's own request, with fewer than two (or the same) field agents, at a time
    outside 09:00–20:00 in the customer's time zone, in the past, or for a customer who has paid
    or holds a pending promise. The case becomes "visit scheduled" (event VISIT_APPROVED).
    """
    now = now or timezone.now()
    _require(by, APPROVE_PERMISSION, _("Only a collections manager may approve home visits."))
    visit = _locked_visit(visit)
    if visit.status != VisitStatus.REQUESTED:
        raise VisitError(
            _("This visit is %(status)s: only a requested visit is approved.")
            % {"status": visit.get_status_display()},
            code="not_requested",
        )
    if visit.requested_by_id == by.pk:
        raise VisitError(_("Nobody approves their own request for a home visit."), code="own_request")
    first, second = _two_field_agents(field_agents)
    if (
        not isinstance(scheduled_for, datetime.datetime)
        or timezone.is_naive(scheduled_for)
        or not moment_in_bounds(scheduled_for)
    ):
        raise VisitError(_("The visit's time is not valid."), code="bad_time")
    zone_today = now.astimezone(visit_zone(visit.customer)).date()
    if scheduled_for.astimezone(visit_zone(visit.customer)).date() < zone_today:
        raise VisitError(_("The visit's date is in the past."), code="date_past")
    _in_hours(at=scheduled_for, customer=visit.customer, what=_("The visit is scheduled"))
    _customer_may_be_visited(visit.customer)
    visit.status = VisitStatus.SCHEDULED
    visit.approved_by = by
    visit.decided_at = now
    visit.decision_reason = scrub_text((reason or "").strip())[:REASON_MAX_LENGTH]
    visit.scheduled_for = scheduled_for
    visit.field_agent_1, visit.field_agent_2 = first, second
    _save(
        visit,
        by,
        "visit_approve",
        [
            "status",
            "approved_by",
            "decided_at",
            "decision_reason",
            "scheduled_for",
            "field_agent_1",
            "field_agent_2",
        ],
    )
    case_transition(case=visit.case, to=CaseStatus.VISIT_SCHEDULED, by=by)
    _event(
        visit,
        CaseEventType.VISIT_APPROVED,
        by,
        now,
        scheduled_for=scheduled_for.isoformat(),
        field_agents=[first.get_username(), second.get_username()],
    )
    return visit


@transaction.atomic
def visit_reject(*, visit: Visit, by, reason: str, now: datetime.datetime | None = None) -> Visit:
    """A collections manager rejects a requested visit, with a reason; the case goes back to contacted."""
    now = now or timezone.now()
    _require(by, APPROVE_PERMISSION, _("Only a collections manager may reject home visits."))
    reason = scrub_text((reason or "").strip())
    if not reason:
        raise VisitError(_("Say why the visit is rejected."), code="no_reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise VisitError(_("The reason is too long."), code="reason_too_long")
    visit = _locked_visit(visit)
    if visit.status != VisitStatus.REQUESTED:
        raise VisitError(
            _("This visit is %(status)s: only a requested visit is rejected.")
            % {"status": visit.get_status_display()},
            code="not_requested",
        )
    if visit.requested_by_id == by.pk:
        raise VisitError(_("Nobody decides their own request for a home visit."), code="own_request")
    visit.status = VisitStatus.REJECTED
    visit.approved_by = by
    visit.decided_at = now
    visit.decision_reason = reason
    _save(visit, by, "visit_reject", ["status", "approved_by", "decided_at", "decision_reason"])
    case = CollectionCase.objects.get(pk=visit.case_id)
    if case.is_open and CaseStatus.CONTACTED in CASE_TRANSITIONS[CaseStatus(case.status)]:
        case_transition(case=case, to=CaseStatus.CONTACTED, by=by)
    _event(visit, CaseEventType.VISIT_REJECTED, by, now, reason=reason)
    return visit


# --- Cancel -------------------------------------------------------------------------------------------


def _cancel_check(visit: Visit, by) -> None:
    """Who may cancel this visit now (VisitError otherwise): the one rule the service applies and
    the pages ask (visit_may_cancel) before they offer the button."""
    if by is None or not by.is_authenticated:
        raise VisitError(_("You may not cancel home visits."), code="not_allowed")
    manager = by.has_perm(APPROVE_PERMISSION)
    requester = by.has_perm(REQUEST_PERMISSION) and visit.requested_by_id == by.pk
    if not (manager or requester):
        raise VisitError(
            _("Only a collections manager or the agent who requested this visit may cancel it."),
            code="not_allowed",
        )
    if visit.check_out_at is not None:
        raise VisitError(
            _("This visit is already checked out: it can no longer be cancelled."), code="not_cancellable"
        )
    if visit.status not in CANCELLABLE_STATUSES or visit.check_in_at is not None:
        raise VisitError(
            _("This visit is %(status)s: it can no longer be cancelled.")
            % {"status": visit.get_status_display()},
            code="not_cancellable",
        )
    if manager:
        return
    if visit.status != VisitStatus.REQUESTED:
        raise VisitError(
            _("This visit is already approved: only a collections manager may cancel it now."),
            code="approved",
        )
    if not CollectionCase.objects.visible_to(by).filter(pk=visit.case_id).exists():
        raise VisitError(_("This case is not in your queues."), code="not_visible")


def visit_cancel_refusal(*, visit: Visit, user) -> VisitError | None:
    """Why `user` may not cancel `visit` as it stands, or None when they may."""
    try:
        _cancel_check(visit, user)
    except VisitError as refusal:
        return refusal
    return None


def visit_may_cancel(*, visit: Visit, user) -> bool:
    """Whether `user` may cancel `visit` as it stands (the pages show the button only then)."""
    return visit_cancel_refusal(visit=visit, user=user) is None


@transaction.atomic
def visit_cancel(*, visit: Visit, by, reason: str, now: datetime.datetime | None = None) -> Visit:
    """Call off a visit nobody has gone out on yet, with a reason.

    A collections manager cancels a requested or a scheduled visit; the agent who requested it
    only while it is still requested (and their case still in their queues); field agents never.
    A visit checked in, checked out, done, rejected or already cancelled is refused. The visit
    keeps who cancelled it, when and why (its approval, if any, stays on record); the case goes
    back to contacted, as after a rejection, if the visit still holds it; a VISIT_CANCELLED
    event goes on its timeline.
    """
    now = now or timezone.now()
    if by is None or not (by.has_perm(APPROVE_PERMISSION) or by.has_perm(REQUEST_PERMISSION)):
        raise VisitError(_("You may not cancel home visits."), code="not_allowed")
    reason = scrub_text((reason or "").strip())
    if not reason:
        raise VisitError(_("Say why the visit is cancelled."), code="no_reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise VisitError(_("The reason is too long."), code="reason_too_long")
    visit = _locked_visit(visit)
    _cancel_check(visit, by)
    was = visit.status
    visit.status = VisitStatus.CANCELLED
    visit.cancelled_by, visit.cancelled_at, visit.cancel_reason = by, now, reason
    _save(visit, by, "visit_cancel", ["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    # Back where a rejection leaves it, but only from the status this visit put the case in: a
    # case that moved on meanwhile (a promise, a hold) stays where it is.
    case = CollectionCase.objects.get(pk=visit.case_id)
    if (
        case.is_open
        and case.status in (CaseStatus.VISIT_REQUESTED, CaseStatus.VISIT_SCHEDULED)
        and CaseStatus.CONTACTED in CASE_TRANSITIONS[CaseStatus(case.status)]
    ):
        case_transition(case=case, to=CaseStatus.CONTACTED, by=by)
    _event(visit, CaseEventType.VISIT_CANCELLED, by, now, was=str(was), reason=reason)
    return visit


# --- The field agents at the door -------------------------------------------------------------------


def _field_agent_check(visit: Visit, by, permission: str) -> None:
    if not by.has_perm(permission) or by.pk not in visit.field_agent_ids:
        raise VisitError(_("Only the visit's two field agents may do this."), code="not_assigned")


def _moment_check(at: datetime.datetime) -> None:
    if not isinstance(at, datetime.datetime) or timezone.is_naive(at) or not moment_in_bounds(at):
        raise VisitError(_("The time is not valid."), code="bad_time")


@transaction.atomic
def visit_check_in(*, visit: Visit, by, at: datetime.datetime, position: Position | None) -> Visit:
    """One of the two field agents checks in at the address: the time and the browser's position
    (None: the agent's browser refused to give it, recorded as refused).

    Refused outside 09:00–20:00 customer-local time, without two field agents, or when the
    customer has paid or holds a pending promise meanwhile.
    """
    _moment_check(at)
    if position is not None:
        position.check()
    visit = _locked_visit(visit)
    _field_agent_check(visit, by, CHECK_IN_PERMISSION)
    if visit.status != VisitStatus.SCHEDULED:
        raise VisitError(
            _("This visit is %(status)s: only a scheduled visit is checked in.")
            % {"status": visit.get_status_display()},
            code="not_scheduled",
        )
    if len(visit.field_agent_ids) < 2:
        raise VisitError(_("A home visit is made by two field agents: choose two."), code="too_few_agents")
    zone = visit_zone(visit.customer)
    if at.astimezone(zone).date() < visit.scheduled_for.astimezone(zone).date():
        raise VisitError(
            _("This visit is scheduled for %(date)s.")
            % {"date": date_format(visit.scheduled_for.astimezone(zone).date(), "Y-m-d")},
            code="too_early",
        )
    _in_hours(at=at, customer=visit.customer, what=_("Check-in"))
    _customer_may_be_visited(visit.customer)
    visit.status = VisitStatus.CHECKED_IN
    visit.check_in_at, visit.check_in_by = at, by
    _place(visit, "check_in", position)
    _save(
        visit,
        by,
        "visit_check_in",
        [
            "status",
            "check_in_at",
            "check_in_by",
            "check_in_latitude",
            "check_in_longitude",
            "check_in_accuracy",
            "check_in_position_refused",
        ],
    )
    _event(visit, CaseEventType.VISIT_CHECKED_IN, by, at, position_refused=position is None)
    return visit


@transaction.atomic
def visit_check_out(*, visit: Visit, by, at: datetime.datetime, position: Position | None) -> Visit:
    """One of the two field agents checks out (before or after recording the outcome), once."""
    _moment_check(at)
    if position is not None:
        position.check()
    visit = _locked_visit(visit)
    _field_agent_check(visit, by, CHECK_IN_PERMISSION)
    if visit.check_in_at is None or visit.status not in (VisitStatus.CHECKED_IN, VisitStatus.DONE):
        raise VisitError(_("Check in before checking out."), code="not_checked_in")
    if visit.check_out_at is not None:
        raise VisitError(_("This visit is already checked out."), code="checked_out")
    if at < visit.check_in_at:
        raise VisitError(_("The check-out cannot be before the check-in."), code="bad_time")
    visit.check_out_at, visit.check_out_by = at, by
    _place(visit, "check_out", position)
    _save(
        visit,
        by,
        "visit_check_out",
        [
            "check_out_at",
            "check_out_by",
            "check_out_latitude",
            "check_out_longitude",
            "check_out_accuracy",
            "check_out_position_refused",
        ],
    )
    return visit


def _place(visit: Visit, prefix: str, position: Position | None) -> None:
    values = (None, None, None, True) if position is None else (*position.stored(), False)
    for suffix, value in zip(("latitude", "longitude", "accuracy", "position_refused"), values, strict=True):
        setattr(visit, f"{prefix}_{suffix}", value)


def visit_record_outcome(
    *,
    visit: Visit,
    by,
    outcome: str,
    notes: str = "",
    photos: Sequence = (),
    now: datetime.datetime | None = None,
) -> Visit:
    """A field agent of the visit records what happened, with notes and photo evidence.

    Every photo is checked (visits.photos) before anything is written; the visit becomes done,
    the case "visited", with a VISIT_DONE event. A photo written before a later step fails is
    removed again, so a refused outcome leaves no file behind.
    """
    now = now or timezone.now()
    if outcome not in VisitOutcome.values:
        raise VisitError(_("Choose an outcome."), code="bad_outcome")
    notes = scrub_text((notes or "").strip())
    if len(notes) > NOTES_MAX_LENGTH:
        raise VisitError(_("The notes are too long."), code="notes_too_long")
    if len(photos) > MAX_PHOTOS:
        raise VisitError(
            _("At most %(count)s photos at once.") % {"count": MAX_PHOTOS}, code="too_many_photos"
        )
    checked = [photo_check(photo) for photo in photos]
    written: list[VisitPhoto] = []
    try:
        with transaction.atomic():
            visit = _locked_visit(visit)
            _field_agent_check(visit, by, OUTCOME_PERMISSION)
            if visit.status != VisitStatus.CHECKED_IN:
                raise VisitError(
                    _("Check in before recording the outcome (this visit is %(status)s).")
                    % {"status": visit.get_status_display()},
                    code="not_checked_in",
                )
            visit.status = VisitStatus.DONE
            visit.outcome, visit.notes = outcome, notes
            visit.outcome_by, visit.outcome_at = by, now
            _save(
                visit, by, "visit_record_outcome", ["status", "outcome", "notes", "outcome_by", "outcome_at"]
            )
            for photo in checked:
                written.append(_photo_save(visit=visit, by=by, photo=photo, at=now))
            case = CollectionCase.objects.get(pk=visit.case_id)
            if case.is_open and CaseStatus.VISITED in CASE_TRANSITIONS[CaseStatus(case.status)]:
                case_transition(case=case, to=CaseStatus.VISITED, by=by)
            _event(visit, CaseEventType.VISIT_DONE, by, now, outcome=outcome, photos=len(written))
    except BaseException:
        for photo in written:
            photo.file.storage.delete(photo.file.name)
        raise
    return visit


def _photo_save(*, visit: Visit, by, photo: CheckedPhoto, at: datetime.datetime) -> VisitPhoto:
    row = VisitPhoto(
        visit=visit,
        uploaded_by=by,
        content_type=photo.content_type,
        size=photo.size,
        width=photo.width,
        height=photo.height,
        uploaded_at=at,
    )
    row.file.save("photo", ContentFile(photo.content), save=False)
    row.save()
    return row
