"""Every write to collection cases: the state machine, and the sweep's daily ageing of the book."""

from __future__ import annotations

import datetime
import heapq
from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from accounts.masking import scrub_text
from accounts.models import Customer, EmergencyContact, User
from bnpl_admin.bulk import bulk_update_values
from bnpl_admin.errors import DomainError
from policy.conduct import Decision

from .models import (
    CASE_TRANSITIONS,
    CLOSED_CASE_STATUSES,
    Bucket,
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    ContactAttempt,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
    Team,
)
from .selectors import contact_context


class CaseError(DomainError):
    pass


@transaction.atomic
def case_transition(*, case: CollectionCase, to: CaseStatus, by=None, reason: str = "") -> CollectionCase:
    """Move a case along CASE_TRANSITIONS, record the event; the one place a status changes."""
    case = CollectionCase.objects.select_for_update().get(pk=case.pk)
    if to not in CASE_TRANSITIONS[CaseStatus(case.status)]:
        raise CaseError(
            _("A case that is %(status)s cannot become %(to)s.")
            % {"status": case.get_status_display(), "to": to.label},
            code="bad_transition",
        )
    previous = case.status
    case.status = to
    case.closed_at = timezone.now() if to in CLOSED_CASE_STATUSES else None
    _set_history_user(case, by)
    case._change_reason = _reason_for_history(reason or "status changed")
    case.save(update_fields=["status", "closed_at"])
    CaseEvent.objects.create(
        case=case,
        type=CaseEventType.CLOSED if case.closed_at else CaseEventType.STATUS_CHANGED,
        actor=by,
        payload={"old": previous, "new": to, "reason": reason},
    )
    return case


def statuses_that_may_become(to: CaseStatus) -> list[str]:
    """The statuses CASE_TRANSITIONS lets become `to`: for bulk moves, which check the map in the
    UPDATE's condition rather than case by case."""
    return [status for status, targets in CASE_TRANSITIONS.items() if to in targets]


def _set_history_user(case: CollectionCase, by: User | None) -> None:
    if by is not None:  # else simple-history takes the request's user, if there is a request
        case._history_user = by


def _reason_for_history(reason: str) -> str:
    return reason[:100]  # the width of simple-history's history_change_reason column


@transaction.atomic
def case_open(
    *, customer: Customer, agent: User | None = None, by: User | None = None, reason: str = ""
) -> CollectionCase:
    """Open a case by hand (the sweep opens its own in bulk, cases_age), with its event and history row."""
    case = CollectionCase(customer=customer, assigned_agent=agent)
    _set_history_user(case, by)
    case._change_reason = _reason_for_history(reason or "opened")
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:  # the partial unique index: one open case per customer
        raise CaseError(_("This customer already has an open case."), code="already_open") from exc
    CaseEvent.objects.create(
        case=case,
        type=CaseEventType.OPENED,
        actor=by,
        payload={"assigned_agent": agent.pk if agent else None, "reason": reason},
    )
    return case


@transaction.atomic
def case_assign(
    *, case: CollectionCase, agent: User | None, by: User | None = None, reason: str = ""
) -> CollectionCase:
    """Give a case to an agent (or to nobody: back to the pool), with its event and history row.

    Assigning a case to the agent it already has changes nothing and records nothing.
    """
    case = CollectionCase.objects.select_for_update().get(pk=case.pk)
    previous = case.assigned_agent_id
    new = agent.pk if agent is not None else None
    if previous == new:
        return case
    case.assigned_agent = agent
    _set_history_user(case, by)
    case._change_reason = _reason_for_history(reason or "assigned")
    case.save(update_fields=["assigned_agent"])
    CaseEvent.objects.create(
        case=case,
        type=CaseEventType.ASSIGNED,
        actor=by,
        payload={"old": previous, "new": new, "reason": reason},
    )
    return case


def cases_age(
    *,
    on: datetime.date,
    customer_from: int,
    customer_to: int,
    dpd_by_customer: dict[int, int],
    still_owing: set[int],
) -> dict[str, int]:
    """The sweep's case step for one range of customers, in the caller's transaction.

    Opens a case for each customer with overdue money and no open case, sets days past due
    and bucket on open cases, and closes as resolved (where CASE_TRANSITIONS allows) the open
    cases of customers who no longer owe anything overdue (`still_owing` holds those who do,
    held orders included, so a case on hold stays open). Writes an event for each opening,
    bucket change and closing.
    """
    now = timezone.now()
    # Plain tuples, not model instances: every open case of the range is read every night.
    open_cases = {
        case.customer_id: case
        for case in CollectionCase.objects.filter(
            customer_id__gte=customer_from, customer_id__lt=customer_to, closed_at__isnull=True
        )
        .values_list("id", "customer_id", "days_past_due", "bucket", "status", named=True)
        .order_by()
    }
    events: list[CaseEvent] = []

    new_customers = [c for c in dpd_by_customer if c not in open_cases]
    if new_customers:
        # The partial unique index keeps one open case per customer even if a person opened
        # one meanwhile: such a row is skipped, not doubled.
        CollectionCase.objects.bulk_create(
            [
                CollectionCase(
                    customer_id=customer_id,
                    days_past_due=dpd_by_customer[customer_id],
                    bucket=Bucket.for_dpd(dpd_by_customer[customer_id]),
                    opened_at=now,
                )
                for customer_id in new_customers
            ],
            ignore_conflicts=True,
        )
        for case in CollectionCase.objects.filter(
            customer_id__in=new_customers, closed_at__isnull=True, opened_at=now
        ).only("id", "customer_id", "days_past_due", "bucket"):
            events.append(
                CaseEvent(
                    case=case,
                    type=CaseEventType.OPENED,
                    created_at=now,
                    payload={
                        "by": "sweep",
                        "date": on.isoformat(),
                        "dpd": case.days_past_due,
                        "bucket": case.bucket,
                    },
                )
            )

    changed = []
    for customer_id, case in open_cases.items():
        dpd = dpd_by_customer.get(customer_id)
        if dpd is None:
            continue
        bucket = Bucket.for_dpd(dpd)
        if case.bucket != bucket:
            events.append(
                CaseEvent(
                    case_id=case.id,
                    type=CaseEventType.AGEING,
                    created_at=now,
                    payload={
                        "by": "sweep",
                        "date": on.isoformat(),
                        "old": case.bucket,
                        "new": bucket,
                        "dpd": dpd,
                    },
                )
            )
        if case.days_past_due != dpd or case.bucket != bucket:
            changed.append((case.id, dpd, bucket))
    bulk_update_values(CollectionCase, ["days_past_due", "bucket"], changed)

    # Resolved along CASE_TRANSITIONS, checked in bulk: only the cases whose status may become
    # resolved (a case the map keeps from resolving stays open), and the UPDATE's condition says so too.
    may_resolve = statuses_that_may_become(CaseStatus.RESOLVED)
    resolved = [
        case
        for customer_id, case in open_cases.items()
        if customer_id not in still_owing and case.status in may_resolve
    ]
    if resolved:
        CollectionCase.objects.filter(pk__in=[c.id for c in resolved], status__in=may_resolve).update(
            status=CaseStatus.RESOLVED, closed_at=now
        )
        events += [
            CaseEvent(
                case_id=case.id,
                type=CaseEventType.CLOSED,
                created_at=now,
                payload={
                    "by": "sweep",
                    "date": on.isoformat(),
                    "old": case.status,
                    "new": CaseStatus.RESOLVED,
                    "reason": "nothing overdue",
                },
            )
            for case in resolved
        ]
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    return {
        "cases_opened": sum(1 for e in events if e.type == CaseEventType.OPENED),
        "cases_aged": len(changed),
        "cases_resolved": len(resolved),
    }


# --- Contacts under the conduct rules (issue 11) ----------------------------------------------


class ContactRefused(CaseError):
    """The active conduct profile forbids the contact now; `decision` says why and from when."""

    def __init__(self, message: str, *, code: str, decision):
        super().__init__(message, code=code)
        self.decision = decision


SUMMARY_MAX_LENGTH = 2000

# An accepted contact with this outcome moves the case, where CASE_TRANSITIONS allows it.
CONTACT_OUTCOME_MOVES_CASE_TO = {ContactOutcome.PROMISE_MADE: CaseStatus.PROMISED}


def contact_check(
    *,
    case: CollectionCase,
    channel: str,
    party: str,
    direction: str = ContactDirection.OUTBOUND,
    emergency_contact: EmergencyContact | None = None,
    now: datetime.datetime | None = None,
) -> Decision:
    """Whether the contact is allowed now under the policy's conduct profile; contact_record asks
    the same question under the customer's lock."""
    context = contact_context(customer=case.customer, now=now or timezone.now())
    return context.decide(
        party=party,
        channel=channel,
        direction=direction,
        contact_id=emergency_contact.pk if emergency_contact is not None else None,
    )


def contact_record(
    *,
    case: CollectionCase,
    agent: User,
    channel: str,
    party: str,
    outcome: str,
    direction: str = ContactDirection.OUTBOUND,
    emergency_contact: EmergencyContact | None = None,
    summary: str = "",
    now: datetime.datetime | None = None,
) -> ContactAttempt:
    """Record a contact on a case, if the conduct profile in force allows it now.

    A forbidden contact raises ContactRefused (a DomainError) with the reason in the reader's
    language; the refusal itself is kept on the case's timeline (committed, even though the
    caller sees an error). The customer's row is locked first, so two agents recording calls to
    one customer at the same moment are counted one after the other against the daily limit.
    """
    now = now or timezone.now()
    # Numbers typed into the summary are masked before they are kept (accounts.masking).
    summary = scrub_text(summary or "")
    _contact_input_check(
        case=case,
        channel=channel,
        party=party,
        outcome=outcome,
        direction=direction,
        emergency_contact=emergency_contact,
        summary=summary,
        now=now,
    )
    with transaction.atomic():
        # Lock order as everywhere (STYLE.md): customer, then its case.
        Customer.objects.select_for_update().only("pk").get(pk=case.customer_id)
        case = CollectionCase.objects.select_for_update().select_related("customer").get(pk=case.pk)
        if not case.is_open:
            raise CaseError(_("Contacts are recorded on open cases only."), code="case_closed")
        decision = contact_check(
            case=case,
            channel=channel,
            party=party,
            direction=direction,
            emergency_contact=emergency_contact,
            now=now,
        )
        details = {
            "channel": channel,
            "party": party,
            "direction": direction,
            "outcome": outcome,
            "emergency_contact": emergency_contact.pk if emergency_contact is not None else None,
            "at": now.isoformat(),
        }
        if not decision.allowed:
            CaseEvent.objects.create(
                case=case,
                type=CaseEventType.CONTACT_REFUSED,
                actor=agent,
                created_at=now,
                payload={
                    **details,
                    "reason": decision.reason_code,
                    "profile": decision.profile.code if decision.profile else "",
                    "allowed_from": decision.allowed_from.isoformat() if decision.allowed_from else None,
                },
            )
        else:
            attempt = ContactAttempt(
                case=case,
                customer_id=case.customer_id,
                agent=agent,
                emergency_contact=emergency_contact,
                at=now,
                channel=channel,
                party=party,
                direction=direction,
                outcome=outcome,
                summary=summary,
            )
            attempt._history_user = agent
            attempt.save()
            CaseEvent.objects.create(
                case=case,
                type=CaseEventType.CONTACT,
                actor=agent,
                created_at=now,
                payload={**details, "contact": attempt.pk},
            )
            to = CONTACT_OUTCOME_MOVES_CASE_TO.get(outcome)
            if to is not None and to in CASE_TRANSITIONS[CaseStatus(case.status)]:
                case_transition(case=case, to=to, by=agent, reason="contact")
    # Raised after the transaction above has committed its refusal event.
    if not decision.allowed:
        raise ContactRefused(decision.message, code=decision.reason_code, decision=decision)
    return attempt


def _contact_input_check(
    *, case, channel, party, outcome, direction, emergency_contact, summary, now
) -> None:
    checks = (
        (channel in ContactChannel.values, _("Unknown contact channel.")),
        (party in ContactParty.values, _("Unknown contact party.")),
        (outcome in ContactOutcome.values, _("Unknown contact outcome.")),
        (direction in ContactDirection.values, _("Unknown contact direction.")),
        (len(summary) <= SUMMARY_MAX_LENGTH, _("The summary is too long.")),
        (
            (party == ContactParty.EMERGENCY_CONTACT) == (emergency_contact is not None),
            _("Name the emergency contact when, and only when, the party is an emergency contact."),
        ),
        (
            emergency_contact is None or emergency_contact.customer_id == case.customer_id,
            _("This emergency contact belongs to another customer."),
        ),
        (timezone.is_aware(now), _("The contact time needs a time zone.")),
    )
    for ok, message in checks:
        if not ok:
            raise CaseError(message, code="bad_contact")


# --- Assignment of many cases at once --------------------------------------------------------------

ASSIGN_PERMISSION = "collections.assign_collectioncase"
ROUND_ROBIN, BY_LOAD = "round robin", "by load"
ASSIGN_METHODS = (ROUND_ROBIN, BY_LOAD)
# One bulk assignment moves at most this many cases: a wider filter is narrowed first.
MAX_BULK_ASSIGN = 5_000


@transaction.atomic
def cases_assign_bulk(
    *,
    cases: QuerySet[CollectionCase],
    team: Team | None = None,
    agent: User | None = None,
    method: str = ROUND_ROBIN,
    by: User | None,
    rule=None,
) -> int:
    """Assign the open cases of `cases` to one agent, or spread them over a team's members.

    `method` spreads them: "round robin" (in turn, worst case first) or "by load" (each case to
    the member with the fewest open cases at that moment, counting the ones given out here).
    Each case whose agent changes gets the history row and the ASSIGNED event case_assign
    writes, in bulk; a case already with its new agent records nothing. Returns how many changed.
    `by` is None only for an assignment rule (`rule`, collection.assignment) run after the sweep:
    a rule made by a manager, acting for nobody.
    """
    if by is None and rule is None:
        raise CaseError(_("Only a collections manager may assign cases."), code="not_allowed")
    if by is not None and not by.has_perm(ASSIGN_PERMISSION):
        raise CaseError(_("Only a collections manager may assign cases."), code="not_allowed")
    if (team is None) == (agent is None):
        raise CaseError(_("Assign the cases to a team or to one agent."), code="no_target")
    if method not in ASSIGN_METHODS:
        raise CaseError(_("Choose round robin or by load."), code="bad_method")
    if team is not None:
        members = list(team.members.filter(is_active=True).order_by("id"))
        if not members:
            raise CaseError(
                _("The team %(team)s has no active members.") % {"team": team.name}, code="empty_team"
            )
    else:
        members = [agent]

    # Locked in the cases' id order, the same order for every caller, so two managers assigning
    # overlapping filters queue up rather than deadlock; then worst first, as the queue reads.
    ids = list(cases.open().order_by("id").values_list("id", flat=True)[: MAX_BULK_ASSIGN + 1])
    if len(ids) > MAX_BULK_ASSIGN:
        raise CaseError(
            _("At most %(max)s cases can be assigned at once; narrow the filter.") % {"max": MAX_BULK_ASSIGN},
            code="too_many",
        )
    locked = list(
        CollectionCase.objects.select_for_update().filter(pk__in=ids, closed_at__isnull=True).order_by("id")
    )
    locked.sort(key=lambda case: (-case.days_past_due, case.id))

    new_agents = _spread(locked, members, method)
    changed = []
    for case, new in zip(locked, new_agents, strict=True):
        if case.assigned_agent_id == new.pk:
            continue
        changed.append((case, case.assigned_agent_id, new))
        case.assigned_agent = new
    if not changed:
        return 0
    reason = f"bulk {method}" if rule is None else f"rule {rule.pk} {method}"
    bulk_update_with_history(
        [case for case, _old, _new in changed],
        CollectionCase,
        ["assigned_agent"],
        batch_size=1000,
        default_user=by,
        default_change_reason=reason,
    )
    now = timezone.now()
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case=case,
                type=CaseEventType.ASSIGNED,
                actor=by,
                created_at=now,
                payload={
                    "old": old,
                    "new": new.pk,
                    "agent": new.username,
                    "team": team.name if team is not None else None,
                    "rule": method if team is not None else "",
                    **({"assignment_rule": rule.pk, "bucket": rule.bucket} if rule is not None else {}),
                },
            )
            for case, old, new in changed
        ],
        batch_size=1000,
    )
    return len(changed)


def _spread(cases: list[CollectionCase], members: list[User], method: str) -> list[User]:
    """The member each case goes to, in the cases' order."""
    if method == ROUND_ROBIN or len(members) == 1:
        return [members[n % len(members)] for n in range(len(cases))]
    # By load: the open cases each member holds outside this batch (the batch is being shared out
    # again), then each case to the least loaded member, the lower id on a tie.
    loads = Counter(
        dict(
            CollectionCase.objects.open()
            .filter(assigned_agent__in=members)
            .exclude(pk__in=[case.pk for case in cases])
            .values_list("assigned_agent")
            .annotate(n=Count("id"))
            .order_by()
        )
    )
    heap = [(loads[member.pk], member.pk, member) for member in members]
    heapq.heapify(heap)
    chosen = []
    for _case in cases:
        load, pk, member = heapq.heappop(heap)
        chosen.append(member)
        heapq.heappush(heap, (load + 1, pk, member))
    return chosen
