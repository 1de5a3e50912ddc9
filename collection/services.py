"""Every write to collection cases: the state machine, and the sweep's daily ageing of the book."""

from __future__ import annotations

import datetime
import heapq
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from accounts.masking import scrub_text
from accounts.models import Customer, EmergencyContact, User
from bnpl_admin.bulk import bulk_update_values
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.money import CENT, ZERO, money_in_bounds
from orders.models import Payment
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
    Promise,
    PromiseStatus,
    Team,
)
from .selectors import (
    PromiseFacts,
    amount_overdue,
    contact_context,
    pending_promise_facts,
    promise_allocations,
    promise_ceiling,
    promise_dates_allowed,
    promise_facts,
    promises_counted_by,
)


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


def case_amounts_refresh(
    *, customer_ids: list[int] | None = None, customer_range: tuple[int, int] | None = None
) -> int:
    """Set each open case's stored amount overdue (CollectionCase.amount_overdue) from the books,
    in one UPDATE: for the cases of `customer_ids` (an orders service changed their books,
    orders.signals.books_changed) or of the customers in `customer_range` [from, to) (the sweep's
    range). A figure derived from the ledger, so no history row or event; returns the cases set."""
    cases = CollectionCase.objects.open()
    if customer_ids is not None:
        cases = cases.filter(customer_id__in=customer_ids)
    if customer_range is not None:
        cases = cases.filter(customer_id__gte=customer_range[0], customer_id__lt=customer_range[1])
    return cases.update(amount_overdue=amount_overdue())


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
        # The agent's username and name beside the id, as case_assign keeps them: the timeline's
        # sentence names the agent, never an id.
        payload={
            "assigned_agent": agent.pk if agent else None,
            "agent": agent.username if agent else None,
            "agent_name": (agent.get_full_name() or agent.username) if agent else None,
            "reason": reason,
        },
    )
    case_amounts_refresh(customer_ids=[customer.pk])
    case.refresh_from_db(fields=["amount_overdue"])
    return case


@transaction.atomic
def case_assign(
    *, case: CollectionCase, agent: User | None, by: User | None = None, reason: str = ""
) -> CollectionCase:
    """Give a case to an agent (or to nobody: back to the pool), with its event and history row.

    Assigning a case to the agent it already has changes nothing and records nothing. A person
    (`by`) needs the permission to assign cases (collections managers); `by=None` is the system.
    """
    _assign_permission_check(by)
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
        # The agent's username too, as cases_assign_bulk writes it: the timeline's sentence names them.
        payload={"old": previous, "new": new, "agent": agent.username if agent else None, "reason": reason},
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
    # The night's late fees and new arrears, on every open case of the range (and the new ones).
    case_amounts_refresh(customer_range=(customer_from, customer_to))
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

# An accepted contact with the debtor that reached them (a right-party contact) moves a case that
# waits for one to contacted; a promise moves it to promised (promise_make). Where the map allows.
RIGHT_PARTY_OUTCOMES = frozenset(
    {
        ContactOutcome.REACHED,
        ContactOutcome.REFUSED,
        ContactOutcome.DISPUTE_RAISED,
        ContactOutcome.CLAIMS_PAID,
    }
)
CONTACTED_FROM = frozenset({CaseStatus.OPEN, CaseStatus.BROKEN_PROMISE, CaseStatus.VISITED})


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
    promise_amount: Decimal | None = None,
    promise_due: datetime.date | None = None,
) -> ContactAttempt:
    """Record a contact on a case, if the conduct profile in force allows it now.

    A forbidden contact raises ContactRefused (a DomainError) with the reason in the reader's
    language; the refusal itself is kept on the case's timeline (committed, even though the
    caller sees an error). The customer's row is locked first, so two agents recording calls to
    one customer at the same moment are counted one after the other against the daily limit.

    The outcome "promise made" needs the promise's amount and date: the promise is made
    (promise_make) in the contact's transaction, so a promise the rules refuse leaves no contact
    either. Any other right-party contact with the debtor moves an open, broken-promise or visited
    case to contacted.
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
    _contact_promise_check(outcome=outcome, party=party, amount=promise_amount, due_date=promise_due, now=now)
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
            if outcome == ContactOutcome.PROMISE_MADE:
                promise_make(
                    case=case, by=agent, amount=promise_amount, due_date=promise_due, contact=attempt, now=now
                )
            elif (
                party == ContactParty.DEBTOR
                and outcome in RIGHT_PARTY_OUTCOMES
                and case.status in CONTACTED_FROM
                and CaseStatus.CONTACTED in CASE_TRANSITIONS[CaseStatus(case.status)]
            ):
                case_transition(case=case, to=CaseStatus.CONTACTED, by=agent, reason="contact reached")
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


# --- Promises to pay (issue 11) -------------------------------------------------------------------
#
# A promise is an amount by a date, made with the debtor during a contact. The ledger decides it:
# it is kept when the allocations of the payments the customer made after the promise, recorded by
# its date, cover its amount; it is broken when its date has passed without that. Dates are
# business dates (TIME_ZONE), as instalment due dates and allocations are: the sweep for date D runs
# at 00:30 on D, so it decides the promises due before D (a promise due D leaves the customer the
# whole of D to pay, as an instalment due D is 1 day past due only on D + 1).


class PromiseError(CaseError):
    """A promise the rules refuse; `field` names the form field the message belongs to."""

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


def _promise_input_check(*, amount, due_date, now: datetime.datetime) -> tuple[Decimal, datetime.date]:
    """The promise's amount and date as the rules want them, before any lock is taken."""
    if amount is None:
        raise PromiseError(_("Give the amount promised."), code="promise_no_amount", field="promise_amount")
    try:
        amount = Decimal(amount) if not isinstance(amount, float | bool) else None
    except (InvalidOperation, TypeError, ValueError):
        amount = None
    if amount is None or not money_in_bounds(amount) or amount != amount.quantize(CENT):
        raise PromiseError(
            _("Give the amount promised in yuan, with at most two decimal places."),
            code="promise_bad_amount",
            field="promise_amount",
        )
    if amount <= ZERO:
        raise PromiseError(
            _("A promise is for an amount above zero."), code="promise_not_positive", field="promise_amount"
        )
    if due_date is None or isinstance(due_date, datetime.datetime) or not isinstance(due_date, datetime.date):
        raise PromiseError(_("Give the date promised."), code="promise_no_date", field="promise_due")
    today, latest = promise_dates_allowed(today=business_date(now))
    if not today <= due_date <= latest:
        raise PromiseError(
            _("A promise falls due from today, %(today)s, to %(latest)s at the latest.")
            % {"today": today.isoformat(), "latest": latest.isoformat()},
            code="promise_date_out_of_range",
            field="promise_due",
        )
    return amount.quantize(CENT), due_date


def _contact_promise_check(*, outcome, party, amount, due_date, now) -> None:
    if outcome != ContactOutcome.PROMISE_MADE:
        if amount is not None or due_date is not None:
            raise PromiseError(
                _("A promised amount and date go only with the outcome “promise made”."),
                code="promise_without_outcome",
            )
        return
    if party != ContactParty.DEBTOR:
        raise PromiseError(
            _("Only the debtor makes a promise to pay; an emergency contact is never told of the debt."),
            code="promise_not_debtor",
        )
    _promise_input_check(amount=amount, due_date=due_date, now=now)


def promise_make(
    *,
    case: CollectionCase,
    by: User | None,
    amount: Decimal,
    due_date: datetime.date,
    contact: ContactAttempt | None = None,
    now: datetime.datetime | None = None,
) -> Promise:
    """Record the debtor's promise to pay `amount` by `due_date` on an open case.

    The amount is above zero and at most what the customer owes on instalments due by that date
    (more could not be allocated in time); the date is from today to Policy.promise_max_days
    ahead; a case holds one pending promise at a time (checked here and by a partial unique
    index). Writes the promise with its history row and a PROMISE_MADE event, and moves the case to
    promised where CASE_TRANSITIONS allows. contact_record calls it inside the contact's
    transaction, with the contact it was made in.
    """
    now = now or timezone.now()
    if not timezone.is_aware(now):
        raise PromiseError(_("The time of the promise needs a time zone."), code="promise_naive_time")
    amount, due_date = _promise_input_check(amount=amount, due_date=due_date, now=now)
    with transaction.atomic():
        # Lock order as everywhere (STYLE.md): customer, then its case.
        Customer.objects.select_for_update().only("pk").get(pk=case.customer_id)
        case = CollectionCase.objects.select_for_update().get(pk=case.pk)
        if not case.is_open:
            raise PromiseError(_("Promises are made on open cases only."), code="promise_case_closed")
        if contact is not None and (contact.case_id != case.pk or contact.party != ContactParty.DEBTOR):
            raise PromiseError(
                _("A promise is made in a contact with this case's debtor."), code="promise_bad_contact"
            )
        if Promise.objects.filter(case=case, status=PromiseStatus.PENDING).exists():
            raise PromiseError(_one_pending_message(), code="promise_pending")
        ceiling = promise_ceiling(customer_id=case.customer_id, due_date=due_date)
        if amount > ceiling:
            raise PromiseError(
                _(
                    "A promise is for at most what the customer owes on instalments due by its date: "
                    "¥%(ceiling)s by %(date)s."
                )
                % {"ceiling": f"{ceiling:,.2f}", "date": due_date.isoformat()},
                code="promise_above_owed",
                field="promise_amount",
            )
        promise = Promise(
            case=case,
            customer_id=case.customer_id,
            contact=contact,
            made_by=by,
            made_at=now,
            amount=amount,
            due_date=due_date,
        )
        if by is not None:
            promise._history_user = by
        promise._change_reason = "promise: made"
        try:
            with transaction.atomic():
                promise.save()
        except IntegrityError as exc:  # the partial unique index: a promise made meanwhile
            raise PromiseError(_one_pending_message(), code="promise_pending") from exc
        CaseEvent.objects.create(
            case=case,
            type=CaseEventType.PROMISE_MADE,
            actor=by,
            created_at=now,
            payload={
                "promise": promise.pk,
                "amount": str(amount),
                "due_date": due_date.isoformat(),
                "contact": contact.pk if contact is not None else None,
            },
        )
        if CaseStatus.PROMISED in CASE_TRANSITIONS[CaseStatus(case.status)]:
            case_transition(case=case, to=CaseStatus.PROMISED, by=by, reason="promise: made")
    return promise


def _one_pending_message() -> str:
    return _("This case already has a promise to pay waiting for its date.")


@dataclass(frozen=True)
class PromiseOutcome:
    status: str  # kept, broken or cancelled
    decided_on: datetime.date
    paid: Decimal


def promise_outcome(
    *,
    amount: Decimal,
    due_date: datetime.date,
    on: datetime.date,
    daily: dict[datetime.date, Decimal],
    case_closed_on: datetime.date | None = None,
) -> PromiseOutcome | None:
    """The ledger's decision on one pending promise for the sweep of business date `on`, or None
    while it waits. Pure: `daily` holds the net allocations per business date of the payments
    made after the promise (promise_allocations).

    - Kept when the allocations through its due date (and not after `on`) cover the amount:
      decided on the day they came to cover it for good, early if that is before the due date.
    - Broken when its due date is before `on` and they do not: decided on its due date.
    - Cancelled when its case closed (paid otherwise, returned, written off) before its date
      without covering it: decided on the day the case closed.

    Every decision date comes from the ledger and the promise, never from the night the sweep
    ran, so skipped nights decide each promise as the nights in between would have.
    """
    horizon = min(due_date, on)
    running, paid, covered_since = ZERO, ZERO, None
    for day in sorted(d for d in daily if d <= horizon):
        running += daily[day]
        # The day the allocations came to cover it and have covered it since (a reversal undoes it).
        covered_since = (covered_since or day) if running >= amount else None
    paid = max(running, ZERO)
    if covered_since is not None:
        return PromiseOutcome(PromiseStatus.KEPT, covered_since, paid)
    closed = case_closed_on is not None and case_closed_on <= min(due_date, on)
    if closed:
        return PromiseOutcome(PromiseStatus.CANCELLED, case_closed_on, paid)
    if due_date < on:
        return PromiseOutcome(PromiseStatus.BROKEN, due_date, paid)
    return None


_PROMISE_EVENT = {
    PromiseStatus.KEPT: CaseEventType.PROMISE_KEPT,
    PromiseStatus.BROKEN: CaseEventType.PROMISE_BROKEN,
    PromiseStatus.CANCELLED: CaseEventType.PROMISE_CANCELLED,
}
# Where a decision moves a case that still waits on the promise (status promised).
_PROMISE_MOVES_CASE_TO = {
    PromiseStatus.KEPT: CaseStatus.CONTACTED,
    PromiseStatus.BROKEN: CaseStatus.BROKEN_PROMISE,
}
PROMISE_BATCH_SIZE = 500


def promises_decide(*, on: datetime.date, batch_size: int = PROMISE_BATCH_SIZE) -> Counter:
    """Decide the pending promises for the sweep of business date `on` (promise_outcome), in
    batches of pending promises by id, each in its own transaction. Idempotent: a decided promise
    is never decided again, so a second run (or a task delivered twice) changes nothing.

    A reversed payment never counts (promise_allocations), and a reversal after a decision
    re-decides the promises the payment counted towards (promises_redecide_after_reversal). A
    payment posted late with an earlier date of receipt does not reopen a broken promise (the
    ledger shows it). A promise covered before its date waits, pending, until the next night's run
    decides it kept as of the day it was covered. Returns the counts of kept, broken and cancelled
    promises.
    """
    on = min(on, business_date())  # the sweep never runs ahead of today, nor does this
    totals: Counter = Counter()
    after = 0
    while True:
        ids = list(
            Promise.objects.filter(status=PromiseStatus.PENDING, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return totals
        after = ids[-1]
        totals.update(_promises_decide_batch(ids=ids, on=on))


def _decisions(promises: list[PromiseFacts], on: datetime.date) -> dict[int, PromiseOutcome]:
    allocations = promise_allocations(promises=promises)
    decisions = {}
    for p in promises:
        outcome = promise_outcome(
            amount=p.amount,
            due_date=p.due_date,
            on=on,
            daily=allocations.get(p.id, {}),
            case_closed_on=p.case_closed_on,
        )
        if outcome is not None:
            decisions[p.id] = outcome
    return decisions


@transaction.atomic
def _promises_decide_batch(*, ids: list[int], on: datetime.date) -> Counter:
    # Read without locks first: most pending promises wait for their date and are left alone.
    decided = _decisions(pending_promise_facts(ids=ids), on)
    if not decided:
        return Counter()
    # Then lock what is to be decided, the cases first (in id order, as contact_record locks a
    # case before it writes a promise), and decide again on what the locks hold.
    facts = pending_promise_facts(ids=list(decided))
    list(
        CollectionCase.objects.select_for_update()
        .filter(pk__in={p.case_id for p in facts})
        .order_by("pk")
        .values_list("pk")
    )
    locked = {
        promise.pk: promise
        for promise in Promise.objects.select_for_update().filter(
            pk__in=[p.id for p in facts], status=PromiseStatus.PENDING
        )
    }
    decided = _decisions([p for p in facts if p.id in locked], on)
    now = timezone.now()
    promises, events = [], []
    for promise_id, outcome in decided.items():
        promise = locked[promise_id]
        promise.status = outcome.status
        promise.decided_on = outcome.decided_on
        promise.paid_amount = outcome.paid
        promises.append(promise)
        events.append(
            CaseEvent(
                case_id=promise.case_id,
                type=_PROMISE_EVENT[outcome.status],
                created_at=now,
                payload={
                    "by": "sweep",
                    "date": on.isoformat(),
                    "promise": promise.pk,
                    "amount": str(promise.amount),
                    "due_date": promise.due_date.isoformat(),
                    "paid": str(outcome.paid),
                    "decided_on": outcome.decided_on.isoformat(),
                },
            )
        )
    bulk_update_with_history(
        promises,
        Promise,
        ["status", "decided_on", "paid_amount"],
        batch_size=1000,
        default_change_reason="decided by the ledger",
    )
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    # Cases still waiting on their promise move on, one by one through the state machine.
    waiting = {
        case.pk: case
        for case in CollectionCase.objects.filter(
            pk__in=[p.case_id for p in promises], status=CaseStatus.PROMISED, closed_at__isnull=True
        )
    }
    for promise in promises:
        to = _PROMISE_MOVES_CASE_TO.get(promise.status)
        case = waiting.get(promise.case_id)
        if to is not None and case is not None:
            case_transition(case=case, to=to, reason=f"promise: {promise.status}")
    return Counter(outcome.status for outcome in decided.values())


# A reversal takes money back from the ledger, so the promises the payment counted towards are
# decided again by the same rule (promise_outcome, over promise_allocations, which leave reversed
# payments out), as of the business date of the reversal:
# - a kept promise no longer covered goes back to pending while its date has not passed (the case
#   waits on it again: promised, where the map allows), or is broken, as of its date, once it has
#   (the case, if the kept decision had moved it on to contacted, becomes broken promise); on a
#   case closed before its date it is cancelled, as the nightly decision would have it;
# - a case holds one pending promise at a time: a promise reopened on a case where a newer one
#   waits is cancelled, the newer one stands;
# - a promise that keeps its status (kept by other payments; broken or cancelled already) keeps it,
#   with its decision date and what was paid towards it as the ledger now says.
# Every change has its history row (who reversed the payment, and why the promise changed) and a
# status change its case event.
_REVERSAL_REASON = "re-decided after a reversal"
_DECIDED = (PromiseStatus.KEPT, PromiseStatus.BROKEN, PromiseStatus.CANCELLED)


@transaction.atomic
def promises_redecide_after_reversal(
    *, payment: Payment, by: User | None = None, on: datetime.date | None = None
) -> Counter:
    """Decide again, after `payment` was reversed, the decided promises it counted towards.

    Called by the collections app's receiver of orders.signals.payment_reversed, inside the
    reversal's transaction (the reversal has locked the customer). Idempotent: run again, the ledger
    says the same and nothing changes. Returns the counts of the new statuses of the promises whose
    status changed (pending, broken, cancelled).
    """
    on = min(on or business_date(), business_date())
    ids = promises_counted_by(payment_id=payment.pk)
    if not ids:
        return Counter()
    # Locks as promises_decide takes them: the cases (in id order), then the promises.
    cases = {
        case.pk: case
        for case in CollectionCase.objects.select_for_update()
        .filter(pk__in=Promise.objects.filter(pk__in=ids).values("case_id"))
        .order_by("pk")
    }
    locked = {
        promise.pk: promise
        for promise in Promise.objects.select_for_update()
        .filter(pk__in=ids, status__in=_DECIDED)
        .order_by("pk")
    }
    facts = promise_facts(ids=list(locked), statuses=_DECIDED)
    allocations = promise_allocations(promises=facts)
    waiting = dict(
        Promise.objects.filter(case_id__in=cases, status=PromiseStatus.PENDING).values_list("case_id", "pk")
    )
    changed: Counter = Counter()
    for fact in sorted(facts, key=lambda f: f.id, reverse=True):  # newest first: see above
        promise, daily = locked[fact.id], allocations.get(fact.id, {})
        outcome = promise_outcome(
            amount=fact.amount, due_date=fact.due_date, on=on, daily=daily, case_closed_on=fact.case_closed_on
        )
        status = outcome.status if outcome is not None else PromiseStatus.PENDING
        if status == promise.status:
            if (outcome.decided_on, outcome.paid) != (promise.decided_on, promise.paid_amount):
                _promise_redecided_save(promise, status=status, outcome=outcome, by=by)
            continue
        if promise.status != PromiseStatus.KEPT:
            continue  # taking money away never changes a broken or cancelled promise's status
        newer = waiting.get(promise.case_id)
        if status == PromiseStatus.PENDING and newer is not None:
            paid = sum((v for d, v in daily.items() if d <= min(fact.due_date, on)), ZERO)
            status, outcome = (
                PromiseStatus.CANCELLED,
                PromiseOutcome(PromiseStatus.CANCELLED, on, max(paid, ZERO)),
            )
        _promise_redecided_save(promise, status=status, outcome=outcome, by=by)
        changed[status] += 1
        payload = {
            "by": "reversal",
            "payment": payment.external_reference,
            "date": on.isoformat(),
            "promise": promise.pk,
            "amount": str(promise.amount),
            "due_date": promise.due_date.isoformat(),
        }
        if outcome is not None:
            payload |= {"paid": str(outcome.paid), "decided_on": outcome.decided_on.isoformat()}
        if status == PromiseStatus.CANCELLED and newer is not None:
            payload["superseded_by"] = newer
        CaseEvent.objects.create(
            case_id=promise.case_id,
            type=_PROMISE_EVENT.get(status, CaseEventType.PROMISE_REOPENED),
            actor=by,
            payload=payload,
        )
        # The case follows as promise_make and promises_decide move it, where the map allows.
        case = cases[promise.case_id]
        if status == PromiseStatus.PENDING:
            waiting[promise.case_id] = promise.pk
            to, reason = CaseStatus.PROMISED, "promise: reopened"
        elif status == PromiseStatus.BROKEN and newer is None:
            to, reason = CaseStatus.BROKEN_PROMISE, "promise: broken"
        else:
            continue
        if case.is_open and to in CASE_TRANSITIONS[CaseStatus(case.status)]:
            cases[case.pk] = case_transition(case=case, to=to, by=by, reason=reason)
    return changed


def _promise_redecided_save(
    promise: Promise, *, status: str, outcome: PromiseOutcome | None, by: User | None
) -> None:
    """Save a promise re-decided after a reversal with its history row (who reversed, and why)."""
    promise.status = status
    promise.decided_on = outcome.decided_on if outcome is not None else None
    promise.paid_amount = outcome.paid if outcome is not None else ZERO
    if by is not None:
        promise._history_user = by
    promise._change_reason = _REVERSAL_REASON
    promise.save(update_fields=["status", "decided_on", "paid_amount"])


# --- Case page (customer 360, issue 11): notes, holds, who may reassign -------------------------

NOTE_MAX_LENGTH = 2000
HOLD_REASON_MAX_LENGTH = 200


def _assign_permission_check(by: User | None) -> None:
    """Only who holds collections.assign_collectioncase reassigns a case (the data admin too)."""
    if by is not None and not by.has_perm(ASSIGN_PERMISSION):
        raise CaseError(_("Only a collections manager may assign cases."), code="not_allowed")


def _case_worker_check(by: User) -> None:
    from .models import QUEUE_PERMISSION

    if by is None or not by.has_perm(QUEUE_PERMISSION):
        raise CaseError(_("Only collections staff may work on cases."), code="not_allowed")


@transaction.atomic
def case_note_add(*, case: CollectionCase, by: User, text: str) -> CaseEvent:
    """A note on the case's timeline (a NOTE event); numbers typed into it are masked first."""
    _case_worker_check(by)
    text = scrub_text((text or "").strip())
    if not text:
        raise CaseError(_("Write the note first."), code="empty_note")
    if len(text) > NOTE_MAX_LENGTH:
        raise CaseError(
            _("A note holds at most %(max)s characters.") % {"max": NOTE_MAX_LENGTH}, code="note_too_long"
        )
    return CaseEvent.objects.create(case=case, type=CaseEventType.NOTE, actor=by, payload={"text": text})


def _hold_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(_("Give a reason."), code="reason_required")
    if len(reason) > HOLD_REASON_MAX_LENGTH:
        raise CaseError(
            _("A reason holds at most %(max)s characters.") % {"max": HOLD_REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    return reason


def case_hold(*, case: CollectionCase, by: User, reason: str) -> CollectionCase:
    """Put a case on hold (a return or a dispute the books do not show yet, a complaint), with a reason."""
    _case_worker_check(by)
    return case_transition(case=case, to=CaseStatus.ON_HOLD, by=by, reason=_hold_reason(reason))


def case_release(*, case: CollectionCase, by: User, reason: str) -> CollectionCase:
    """Take a case off hold, back to the status it had before (open or contacted), with a reason."""
    _case_worker_check(by)
    reason = _hold_reason(reason)
    if case.status != CaseStatus.ON_HOLD:
        raise CaseError(_("This case is not on hold."), code="not_on_hold")
    held = (
        CaseEvent.objects.filter(
            case=case, type=CaseEventType.STATUS_CHANGED, payload__new=CaseStatus.ON_HOLD
        )
        .order_by("-created_at", "-id")
        .values_list("payload", flat=True)
        .first()
    )
    # Back to open if it was open; any later status (contacted, promised, ...) resumes as contacted.
    before = (held or {}).get("old")
    to = CaseStatus.OPEN if before in (None, CaseStatus.OPEN) else CaseStatus.CONTACTED
    return case_transition(case=case, to=to, by=by, reason=reason)
