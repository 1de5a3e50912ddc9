"""Where visit photos are kept: a private folder (settings.VISITS_PHOTO_ROOT), never under a public
URL. The only way to read one is visits.views.photo, which checks who asks."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class PrivateFileSystemStorage(FileSystemStorage):
    """A file system storage without URLs: a photo has no address anyone could pass on."""

    def __init__(self, location=None, **kwargs):
        super().__init__(location=location or settings.VISITS_PHOTO_ROOT, base_url=None, **kwargs)

    def url(self, name):
        raise ValueError("visit photos have no public URL; they are served by visits.views.photo")


class _PhotoStorage(LazyObject):
    def _setup(self):
        self._wrapped = PrivateFileSystemStorage()


_storage = _PhotoStorage()


def photo_storage() -> FileSystemStorage:
    """The photos' storage (a callable, so migrations do not record the folder)."""
    return _storage


@receiver(setting_changed)
def _reset(*, setting, **kwargs):
    if setting == "VISITS_PHOTO_ROOT":
        _storage._wrapped = empty
