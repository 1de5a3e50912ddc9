"""App config for settlements, restructures and write-offs (maker–checker)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementsConfig(AppConfig):
    name = "settlements"
    verbose_name = _("Settlements and write-offs")

    def ready(self) -> None:
        from bnpl_admin.signals import sweep_done
        from collection.case_actions import CaseAction, register_case_action
        from collection.models import CASE_TRANSITIONS, CaseStatus

        from .models import PROPOSE_PERMISSION
        from .receivers import sweep_done_propose_write_offs

        sweep_done.connect(sweep_done_propose_write_offs, dispatch_uid="settlements_write_offs_propose")

        def may_propose(case) -> bool:
            return CaseStatus.SETTLEMENT_PENDING in CASE_TRANSITIONS[CaseStatus(case.status)]

        register_case_action(
            CaseAction(
                key="settlement_propose",
                label=_("Propose a settlement or restructure"),
                url_name="settlements:propose",
                permission=PROPOSE_PERMISSION,
                applies=may_propose,
                order=300,
            )
        )
