"""App config for collection cases and their events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionConfig(AppConfig):
    # The package cannot be called `collections`: the standard library's module of that
    # name is imported first, so the label keeps admin URLs and permissions as collections.*.
    name = "collection"
    label = "collections"
    verbose_name = _("Collections")
