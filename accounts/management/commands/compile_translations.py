"""compile_translations: the console's .po catalogs to .mo with polib, no GNU gettext needed.

    python manage.py compile_translations           # the build: before run, test and release
    python manage.py compile_translations --update  # then translate the new entries in zh_Hans

--update brings the catalogs in line with the code, as makemessages would: each message the
code uses but a catalog lacks is added, to English with the English text (the source
language) and to the other languages untranslated, so that the catalog test names it until
someone translates it; an entry the code no longer uses is kept as obsolete (#~).
"""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bnpl_admin.translations import catalog_path, compile_catalog, project_messages


class Command(BaseCommand):
    help = "Compile the .po catalogs under LOCALE_PATHS to .mo (polib); optionally add missing messages."

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="add the messages the code uses but a catalog lacks, mark unused ones obsolete",
        )

    def handle(self, *args, update: bool = False, **options):
        locale_dirs = [Path(path) for path in settings.LOCALE_PATHS]
        if update:
            messages = project_messages(Path(settings.BASE_DIR))
            for language, _name in settings.LANGUAGES:
                self._update(catalog_path(locale_dirs[0], language), language, messages)
        catalogs = sorted(po for folder in locale_dirs for po in folder.glob("*/LC_MESSAGES/*.po"))
        if not catalogs:
            raise CommandError(f"no .po files under {', '.join(map(str, locale_dirs))}")
        for po_path in catalogs:
            mo_path, count = compile_catalog(po_path)
            if options["verbosity"] >= 1:
                self.stdout.write(f"{mo_path.relative_to(settings.BASE_DIR)}: {count} messages")

    def _update(self, po_path: Path, language: str, messages) -> None:
        if not po_path.exists():
            raise CommandError(f"{po_path} is missing: start it from another language's catalog")
        po = polib.pofile(str(po_path), wrapwidth=0)
        present = {(entry.msgctxt or "", entry.msgid): entry for entry in po}
        used = {message.key for message in messages}
        retired = 0
        for key, entry in present.items():
            if entry.obsolete != (key not in used):
                entry.obsolete = key not in used
                retired += entry.obsolete
        source = language.startswith("en")
        added = 0
        for message in messages:
            if message.key in present:
                continue
            entry = polib.POEntry(msgid=message.msgid, msgctxt=message.context or None)
            path, _colon, line = message.where.partition(":")
            entry.occurrences = [(path, line)]
            if "%(" in message.msgid or "%d" in message.msgid or "%s" in message.msgid:
                entry.flags.append("python-format")
            if message.plural:
                entry.msgid_plural = message.plural
                plurals = int(po.metadata.get("Plural-Forms", "nplurals=2").split("nplurals=")[1][0])
                entry.msgstr_plural = {
                    index: (message.msgid if index == 0 else message.plural) if source else ""
                    for index in range(plurals)
                }
            else:
                entry.msgstr = message.msgid if source else ""
            po.append(entry)
            added += 1
        po.save()
        self.stdout.write(
            f"{po_path.relative_to(settings.BASE_DIR)}: {added} messages added, {retired} made obsolete"
        )
