"""App config for home visits: registers the case page's "Request a home visit" and "Cancel the home
visit" actions."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    label = "visits"
    verbose_name = _("Home visits")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from collection.case_actions import CaseAction, register_case_action
        from collection.models import CASE_TRANSITIONS, CaseStatus

        from .models import REQUEST_PERMISSION
        from .selectors import case_is_eligible

        def applies(case) -> bool:
            return (
                case_is_eligible(case)
                and CaseStatus.VISIT_REQUESTED in CASE_TRANSITIONS[CaseStatus(case.status)]
            )

        from .selectors import case_cancellable_visit
        from .services import visit_may_cancel

        def may_cancel(user, case) -> bool:
            visit = case_cancellable_visit(case_id=case.pk)
            return visit is not None and visit_may_cancel(visit=visit, user=user)

        register_case_action(
            CaseAction(
                key="visit_cancel",
                label=_("Cancel the home visit"),
                url_name="visits:case_cancel",
                permission=REQUEST_PERMISSION,
                allowed=may_cancel,
                order=61,
            )
        )
        register_case_action(
            CaseAction(
                key="visit_request",
                label=_("Request a home visit"),
                url_name="visits:request",
                permission=REQUEST_PERMISSION,
                applies=applies,
                order=60,
            )
        )
