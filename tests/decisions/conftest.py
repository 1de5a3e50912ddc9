from tests.hardening.test_zh_pages import english_messages  # noqa: F401  (a fixture)
