"""One list of the project's models and admin pages for the tests that walk all of them.

Derived from the app registry and admin.site, so a new model or ModelAdmin is covered by those
tests without editing them. Every exclusion is explicit, with its reason.
"""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from simple_history.models import HistoricalChanges


def _is_project_app(app_config) -> bool:
    """An app of this repository (its package under BASE_DIR), not an installed dependency."""
    path = Path(app_config.path).resolve()
    base = Path(settings.BASE_DIR).resolve()
    return path.is_relative_to(base) and "site-packages" not in path.parts


def is_history_model(model) -> bool:
    """A django-simple-history table (HistoricalOrder, HistoricalUser_groups, ...), made from a
    model's `history`."""
    return issubclass(model, HistoricalChanges)


# App labels of the project's apps (collection's label is "collections"), in INSTALLED_APPS order.
PROJECT_APP_LABELS: tuple[str, ...] = tuple(
    config.label for config in apps.get_app_configs() if _is_project_app(config)
)
# Package names of the project's apps (collection, not collections): where their sources are.
PROJECT_PACKAGES: tuple[str, ...] = tuple(
    config.name for config in apps.get_app_configs() if _is_project_app(config)
)

# The project's own models; their history tables are not models of their own here (they
# follow their model, and the admin shows them as its history pages).
PROJECT_MODELS: list = sorted(
    (
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APP_LABELS and not is_history_model(model)
    ),
    key=lambda model: model._meta.label,
)

# The project's models that keep a django-simple-history `history`.
HISTORY_MODELS: list = [model for model in PROJECT_MODELS if hasattr(model, "history")]

# Every model with an admin page: ours and the third-party ones we register or re-register.
ADMIN_MODELS: list = sorted(admin.site._registry, key=lambda model: model._meta.label)
PROJECT_ADMIN_MODELS: list = [model for model in ADMIN_MODELS if model._meta.app_label in PROJECT_APP_LABELS]
OTHER_ADMIN_MODELS: list = [
    model for model in ADMIN_MODELS if model._meta.app_label not in PROJECT_APP_LABELS
]

# Project models with no admin page of their own, each with the reason.
NOT_IN_ADMIN: dict[str, str] = {
    "sweep.SweepChunk": "shown inline on its run's page (sweep.admin.SweepRunAdmin)",
    "decisionlog.ChainHead": "the chain's lock row; its head is shown on the decision log's pages",
    "decisionlog.DecisionLogEntry": "append-only: read on the console's decision log page, never edited",
    "risk.Characteristic": "shown with its bins on the version's console page; bins in BinAdmin",
    "risk.GradeBand": "shown inline on its version's admin page (risk.admin.ScorecardVersionAdmin)",
    "decisionlog.ChainVerification": "verification results: shown on the console's verification page",
    "visits.VisitPhoto": "evidence files: on their visit's page, served only by the checked photo view",
    "restrictions.RestrictionJob": "bulk jobs: created and approved on the console's restriction pages",
    "restrictions.Restriction": "append-only record of each line's restriction: shown on the console's pages",
}


def model_admin(model):
    return admin.site._registry[model]
