"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium comes from the distribution (`apt-get install chromium fonts-noto-cjk`, done by
`make test` when it is missing); Playwright never downloads a browser here.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BNPL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # still plain synchronous code, so Django's guard against async contexts is lifted, and
    # only while the browser runs (worker subprocesses of other tests inherit the env).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context; any console error or page error fails the test."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    marker = request.node.get_closest_marker("expected_http_errors")
    expected = {str(code) for code in (marker.args if marker else ())}

    def on_console(msg):
        if msg.type != "error":
            return
        # Chromium logs a page answered with an error status as a console error; a test that
        # is about such an answer (a lockout, a refusal) declares the status it expects.
        if "Failed to load resource" in msg.text and any(f"status of {c} " in msg.text for c in expected):
            return
        problems.append(f"console {msg.type}: {msg.text} at {msg.location.get('url')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.base_url = live_server.url
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
