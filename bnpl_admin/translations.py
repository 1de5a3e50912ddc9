"""The console's message catalogs without GNU gettext: find the messages the code uses, compile .po to .mo.

`makemessages` and `compilemessages` need the gettext tools, which a bare machine lacks.
This module reads the same things they would: gettext calls in the project's Python
(through the `ast` module, so only real calls count) and translate tags in its templates
(through Django's own template parser, so a blocktranslate yields exactly the msgid Django
looks up at runtime). polib writes the .mo files.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polib
from django.template.base import TokenType
from django.utils.text import unescape_string_literal

# Directories that are not the project's own source.
SKIP_DIRS = {
    ".venv",
    "venv",
    ".git",
    "var",
    "node_modules",
    "tests",
    "migrations",
    "locale",
    "static",
    "staticfiles",
    "docs",
    "build",
    "__pycache__",
}
TEMPLATE_SUFFIXES = {".html", ".txt"}

# name -> (index of the context argument or None, index of the msgid, index of the plural or None)
GETTEXT_FUNCTIONS = {
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
TRANSLATION_MODULE = "django.utils.translation"

LANGUAGE_DIRS = {"zh-hans": "zh_Hans", "en": "en"}


@dataclass(frozen=True, order=True)
class Message:
    msgid: str
    context: str = ""
    plural: str = ""
    # Where it was found (the first place), for error messages; not part of its identity.
    where: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.context, self.msgid)


def project_messages(base_dir: Path) -> list[Message]:
    """Every translatable message in the project's Python and templates, first place of each."""
    found: dict[tuple[str, str], Message] = {}
    for message in (*_python_messages(base_dir), *_template_messages(base_dir)):
        found.setdefault(message.key, message)
    return sorted(found.values())


def _source_files(base_dir: Path, suffixes: set[str]) -> Iterator[Path]:
    for root, dirs, files in os.walk(base_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if Path(name).suffix in suffixes:
                yield Path(root) / name


# --- Python --------------------------------------------------------------------------


def _python_messages(base_dir: Path) -> Iterator[Message]:
    for path in _source_files(base_dir, {".py"}):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions, modules = _translation_names(tree)
        if not functions and not modules:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called_function(node.func, functions, modules)
            if name is None:
                continue
            where = f"{path.relative_to(base_dir)}:{node.lineno}"
            message = _call_message(node, GETTEXT_FUNCTIONS[name], where)
            if message is not None:
                yield message


def _translation_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local names bound to gettext functions (`_` -> gettext_lazy) and to the translation module."""
    functions: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == TRANSLATION_MODULE:
            for alias in node.names:
                if alias.name in GETTEXT_FUNCTIONS:
                    functions[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module == "django.utils":
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "translation")
    return functions, modules


def _called_function(func: ast.expr, functions: dict[str, str], modules: set[str]) -> str | None:
    if isinstance(func, ast.Name):
        return functions.get(func.id)
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
        and func.attr in GETTEXT_FUNCTIONS
    ):
        return func.attr
    return None


def _call_message(call: ast.Call, spec: tuple[int | None, int, int | None], where: str) -> Message | None:
    context_at, msgid_at, plural_at = spec

    def literal(index: int | None) -> str | None:
        if index is None:
            return ""
        if index < len(call.args) and isinstance(call.args[index], ast.Constant):
            value = call.args[index].value
            return value if isinstance(value, str) else None
        return None

    context, msgid, plural = literal(context_at), literal(msgid_at), literal(plural_at)
    if msgid is None or context is None or plural is None or not msgid:
        return None  # a computed message: nothing to extract (as with makemessages)
    return Message(msgid=msgid, context=context, plural=plural, where=where)


# --- Templates -------------------------------------------------------------------------


def _template_messages(base_dir: Path) -> Iterator[Message]:
    from django.template import engines
    from django.template.base import Node
    from django.templatetags.i18n import BlockTranslateNode, TranslateNode

    engine = engines["django"].engine
    for path in _source_files(base_dir, TEMPLATE_SUFFIXES):
        if "templates" not in path.relative_to(base_dir).parts:
            continue
        where = str(path.relative_to(base_dir))
        nodelist = engine.from_string(path.read_text(encoding="utf-8")).nodelist
        for node in nodelist.get_nodes_by_type(TranslateNode):
            msgid = node.filter_expression.var.literal
            context = _constant(node.message_context)
            if isinstance(msgid, str) and msgid and context is not None:
                yield Message(msgid=str(msgid), context=context, where=where)
        for node in nodelist.get_nodes_by_type(BlockTranslateNode):
            context = _constant(node.message_context)
            singular, _vars = node.render_token_list(node.singular)
            plural = node.render_token_list(node.plural)[0] if node.plural else ""
            if context is not None:
                yield Message(msgid=singular, context=context, plural=plural, where=where)
        for node in nodelist.get_nodes_by_type(Node):
            yield from _underscore_messages(node, where)


def _constant(expression) -> str | None:
    """A translate tag's context as a string: "" for none, None when it is a variable."""
    if expression is None:
        return ""
    var = expression.var
    return str(var) if isinstance(var, str) else None


# _("text") in a variable or a tag's argument: {{ _("text") }}, {{ x|default:_("text") }}.
# The parser translates these while it compiles, so they are read from the tag's source.
_UNDERSCORE = re.compile(r"""(?<![\w.])_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")


def _underscore_messages(node, where: str) -> Iterator[Message]:
    token = getattr(node, "token", None)
    if token is None or token.token_type not in (TokenType.VAR, TokenType.BLOCK):
        return
    for match in _UNDERSCORE.finditer(token.contents):
        yield Message(msgid=unescape_string_literal(match.group(1)), where=where)


# --- Catalogs ------------------------------------------------------------------------


def catalog_path(locale_dir: Path, language: str) -> Path:
    return locale_dir / LANGUAGE_DIRS.get(language, language) / "LC_MESSAGES" / "django.po"


def catalog_problems(po: polib.POFile, messages: Iterable[Message]) -> list[str]:
    """What keeps a catalog from covering the project: missing, untranslated or fuzzy entries."""
    entries = {(entry.msgctxt or "", entry.msgid): entry for entry in po if not entry.obsolete}
    problems = []
    for message in messages:
        entry = entries.get(message.key)
        label = f"{message.msgid!r}" + (f" (context {message.context!r})" if message.context else "")
        if entry is None:
            problems.append(f"missing: {label} from {message.where}")
        elif message.plural and entry.msgid_plural != message.plural:
            problems.append(f"plural differs: {label} from {message.where}")
        elif "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {label}")
        elif not entry.translated():
            problems.append(f"untranslated: {label}")
    return problems


def compile_catalog(po_path: Path) -> tuple[Path, int]:
    """Write the .mo beside the .po (atomically: a running server or another compile, as in
    CI's two passes at once, may be reading or writing it)."""
    po = polib.pofile(str(po_path))
    mo_path = po_path.with_suffix(".mo")
    partial = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
    po.save_as_mofile(str(partial))
    os.replace(partial, mo_path)
    return mo_path, len(po.translated_entries())
