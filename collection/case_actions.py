"""The actions offered on the case page, registered by the apps that own them.

The case page (collection) lists the actions a reader may take on a case; the work behind each
action lives in the app that owns it (promises here, settlements and home visits in their own
apps). An app registers its actions in its `AppConfig.ready`, so the case page never imports a
higher app:

    register_case_action(CaseAction(
        key="visit_request", label=_("Request a home visit"),
        url_name="visits:request", permission="visits.add_visit",
    ))

The action's URL takes the case id (`case_id`), answers a GET with its form (a fragment when the
request comes from htmx, a whole page otherwise) and a POST by calling its service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class CaseAction:
    key: str
    label: str
    url_name: str
    permission: str
    # Whether the action applies to this case now (e.g. visits only from M3); None: always.
    applies: Callable[[object], bool] | None = None
    order: int = 100
    # Whether this reader may take it on this case now, beyond the permission (e.g. cancelling a
    # home visit: only the agent who asked for it, or a manager), called as allowed(user, case)
    # after the permission and `applies`; None: whoever holds the permission.
    allowed: Callable[[object, object], bool] | None = None


_ACTIONS: dict[str, CaseAction] = {}


def register_case_action(action: CaseAction) -> None:
    """Register (or replace, on a reload) an action by its key."""
    _ACTIONS[action.key] = action


def case_actions_for(*, user, case) -> list[tuple[CaseAction, str]]:
    """The actions this user may take on this open case, with their URLs, in display order."""
    if not case.is_open:
        return []
    actions = sorted(_ACTIONS.values(), key=lambda a: (a.order, a.key))
    return [
        (action, reverse(action.url_name, kwargs={"case_id": case.pk}))
        for action in actions
        if user.has_perm(action.permission)
        and (action.applies is None or action.applies(case))
        and (action.allowed is None or action.allowed(user, case))
    ]
