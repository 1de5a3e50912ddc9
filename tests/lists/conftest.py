"""The catalogue's English messages, as the Chinese page scan reads them."""

from tests.hardening.test_zh_pages import english_messages  # noqa: F401  (a fixture)
