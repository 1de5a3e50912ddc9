"""A Chinese page has no English on it: every console page and every admin page, read in zh-hans.

The pages are those of the URL map (tests/audit/site_map.py), each with a real row, read by a
superuser and by every role. A page fails when its visible text holds a message of the project's
catalogue whose Chinese differs from the English (the English was shown untranslated), or a bare
choice value ("overdue", "wechat") where its label belongs.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.utils import translation

from bnpl_admin.access import PRINCIPALS, SUPERUSER
from bnpl_admin.translations import catalog_path
from tests.audit.badinput import quick_client
from tests.audit.site_map import build_site_data, discover, targets
from tests.conftest import login_verified
from tests.registry import PROJECT_APP_LABELS

PROJECT_APPS = set(PROJECT_APP_LABELS)
# Pages that do something on GET, or are not pages. The CSV export is a download, and the event it
# records keeps machine names in its payload ("list: audit events") for analysis.
SKIP_ROUTES = (
    "logout",
    "set_language",
    "audit:reveal",
    "audit:event_export",
    "admin:logout",
    "admin:view_on_site",
    "admin/r/",
)
# Messages that are English in Chinese too, or read the same in both (product and format names).
SAME_IN_BOTH = {"CSV"}
# A message this short is a word that also turns up inside data and code-like text.
MIN_LENGTH = 4


class _Text(HTMLParser):
    """The text a person sees: text nodes outside script, style and template, one per node."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.nodes.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


_PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]|\{[a-z_]*\}")


def _pattern(msgid: str) -> re.Pattern | None:
    """A regex finding the English message in text, its placeholders standing for anything."""
    literal = _PLACEHOLDER.sub("", msgid)
    if len(literal.strip()) < MIN_LENGTH or not re.search(r"[A-Za-z]{3}", literal) or "<" in msgid:
        return None
    parts = [re.escape(" ".join(part.split())) for part in _PLACEHOLDER.split(msgid)]
    body = ".+?".join(parts)
    return re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")


@pytest.fixture(scope="module")
def english_messages() -> list[tuple[str, re.Pattern]]:
    po = polib.pofile(str(catalog_path(Path(settings.LOCALE_PATHS[0]), "zh-hans")))
    found = []
    for entry in po:
        if entry.obsolete or entry.msgid in SAME_IN_BOTH:
            continue
        translated = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
        if translated and translated != entry.msgid:
            pattern = _pattern(entry.msgid)
            if pattern is not None:
                found.append((entry.msgid, pattern))
    assert len(found) > 150  # the catalogue was read
    return found


def _raw_choice_values() -> set[str]:
    """Stored values of the project's choice fields that read differently from their Chinese label."""
    values = set()
    with translation.override("zh-hans"):
        for model in apps.get_models():
            if model._meta.app_label not in PROJECT_APPS:
                continue
            for field in model._meta.get_fields():
                for value, label in getattr(field, "flatchoices", None) or ():
                    if isinstance(value, str) and re.search(r"[a-z]{2}", value) and str(label) != value:
                        values.add(value)
    return values


# Text that is data, not the console's words: JSON payloads (machine names, kept for analysis) and
# Django's permission rows ("app | model | Can view ..."), whose names are stored in English.
_DATA_NODE = re.compile(r"^[\[{]|\| Can \w+ ")


def _leaks(html: str, english, raw_values) -> list[str]:
    nodes = [node for node in visible_text(html) if not _DATA_NODE.search(node)]
    text = "\n".join(nodes)
    words = {node.rstrip(":：").strip() for node in nodes}
    found = [
        f"English {msgid!r}"
        for msgid, pattern in english
        # A one-word message (a field's name) counts only as a whole text: a column heading or label.
        if (msgid in words if " " not in msgid else pattern.search(text))
    ]
    found += [f"raw value {node!r}" for node in nodes if node in raw_values]
    return found


def _pages(site) -> list[tuple[str, str]]:
    from tests.audit.site_map import sample_value

    out = []
    for target in targets(discover(), sample_value(site)):
        route = target.route
        if any(skip in target.key or skip in target.path for skip in SKIP_ROUTES):
            continue
        if route.is_admin:
            model = route.admin_model
            # The project's own admin pages, and the admin's index pages.
            if model is not None and model._meta.app_label not in PROJECT_APPS:
                continue
            if model is None and not (
                target.key == "admin:index"
                or any(target.key.endswith(f"app_list/{label}") for label in PROJECT_APPS)
            ):
                continue
        out.append((target.key, target.path))
    return out


def test_every_page_reads_as_chinese(db, monkeypatch, english_messages):
    # Some text is stored as it was written (the trail's names of objects, a freeze's reason), in
    # the writer's language: here Chinese staff and a Chinese sweep, whatever an earlier test left active.
    with translation.override("zh-hans"):
        site = build_site_data()
    raw_values = _raw_choice_values()
    assert {"overdue", "wechat", "short_video"} <= raw_values
    pages = _pages(site)
    assert any(key.endswith("changelist") for key, _ in pages) and any("change" in k for k, _ in pages)
    problems: dict[str, list[str]] = {}
    read = 0
    quick_client(monkeypatch)  # patches the admin and the template engine for every client below
    for principal in PRINCIPALS:
        if principal == "anonymous":
            continue
        user = site.users[principal]
        user.language = "zh-hans"
        user.save(update_fields=["language"])
        client = Client(raise_request_exception=False)
        login_verified(client, user)
        for _key, path in pages:
            if principal != SUPERUSER and path.startswith("/admin/"):
                continue  # the superuser reads every admin page; roles read the console
            response = client.get(path, follow=False)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            read += 1
            for leak in _leaks(response.content.decode(), english_messages, raw_values):
                problems.setdefault(leak, []).append(f"{principal} {path}")
    anonymous = Client(raise_request_exception=False)
    for path in ("/login/",):
        response = anonymous.get(path, follow=True)
        read += 1
        for leak in _leaks(response.content.decode(), english_messages, raw_values):
            problems.setdefault(leak, []).append(f"anonymous {path}")
    assert read > 50
    assert not problems, "\n".join(
        f"{leak}: {', '.join(where[:3])}" for leak, where in sorted(problems.items())
    )


def test_the_scan_finds_english_and_raw_values(english_messages):
    # Guards the test above against passing because it can see nothing.
    raw = {"overdue"}
    assert _leaks("<td>overdue</td>", english_messages, raw) == ["raw value 'overdue'"]
    assert _leaks("<p>Sign out</p>", english_messages, raw) == ["English 'Sign out'"]
    assert _leaks("<p>退出登录</p><script>'Sign out'</script>", english_messages, raw) == []


# --- Text a template never marked for translation -------------------------------------------------

# Words that are the same in both languages: the brand, and the names of the languages on the switch.
UNTRANSLATED_WORDS = {"BNPL", "English", "CSV"}
_TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
# Attributes a person reads (a tooltip, a placeholder, what a screen reader says).
_READ_ATTRIBUTE = re.compile(r"""\b(?:title|placeholder|aria-label|alt)=(?:"([^"]*)"|'([^']*)')""")


def template_text_problems(source: str) -> list[str]:
    """Words of English in a template's text that no translate tag covers (what makemessages
    would not find, so no catalogue can translate)."""
    from django.template.base import Lexer, TokenType

    # The template's text with every tag and variable as a hole (\x00), translated parts dropped.
    skeleton, skipping = [], None
    ends = {
        "blocktranslate": "endblocktranslate",
        "blocktrans": "endblocktrans",
        "comment": "endcomment",
        "bodyclass": "endblock",
    }
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if token.contents.split()[:2] == ["block", "bodyclass"]:
                name = "bodyclass"  # CSS class names, not text
            if skipping is None and name in ends:
                skipping = ends[name]
            elif name == skipping:
                skipping = None
        if token.token_type == TokenType.TEXT and not skipping:
            skeleton.append(token.contents)
        elif token.token_type != TokenType.COMMENT:
            skeleton.append("\x00")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", "".join(skeleton), flags=re.S)
    read = [value for match in _READ_ATTRIBUTE.finditer(text) for value in match.groups() if value]
    problems = []
    for part in (*_TAG.sub("\n", text).split("\n"), *read):
        part = re.sub(r"&[#\w]+;", " ", part).replace("\x00", " ")
        if any(w not in UNTRANSLATED_WORDS for w in re.findall(r"[A-Za-z][A-Za-z'-]+", part)):
            problems.append(" ".join(part.split()))
    return problems


def test_no_template_text_is_left_untranslated():
    base = Path(settings.BASE_DIR)
    found = {}
    for path in sorted(base.glob("**/templates/**/*.html")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        problems = template_text_problems(path.read_text(encoding="utf-8"))
        if problems:
            found[str(path.relative_to(base))] = problems
    assert not found, "wrap in {% translate %}:\n" + "\n".join(f"{k}: {v}" for k, v in found.items())


def test_the_template_check_sees_bare_text():
    assert template_text_problems("<h1>Staff sign-in 员工登录</h1>") == ["Staff sign-in 员工登录"]
    assert template_text_problems('<input placeholder="Search">') == ["Search"]
    assert (
        template_text_problems(
            "<h1>{% translate 'Sign in' %}</h1><p>{% blocktranslate %}Hi{% endblocktranslate %}</p>"
        )
        == []
    )
