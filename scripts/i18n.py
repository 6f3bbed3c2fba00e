"""Message catalogs: extract the English msgids into a template and check the Chinese translations.

    python scripts/i18n.py extract   # appliance/locale/messages.pot, then update the en and zh_CN .po files
    python scripts/i18n.py check     # exit 1 on a msgid without a zh_CN translation, a fuzzy entry, or a
                                     # translation whose {placeholders} differ from its msgid's

Extraction reads babel.cfg at the repository root (its patterns are relative to the root) and only walks
appliance/, console/ and modules/. Updating keeps existing translations and never guesses: a new msgid gets
an empty translation (no fuzzy matching), so `check` names it until someone translates it. Files are only
rewritten when their messages change, so running `extract` twice leaves no diff.
"""

from __future__ import annotations

import argparse
import io
import os
import string
import sys
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, pathmatch
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / 'appliance' / 'locale'
TEMPLATE = LOCALE_DIR / 'messages.pot'
LANGUAGES = ('en', 'zh_CN')
TRANSLATED = 'zh_CN'
SOURCE_DIRS = ('appliance', 'console', 'modules')
KEYWORDS: dict[str, tuple[int, int] | None] = {'_': None, 'N_': None, 'gettext': None, 'NP_': (1, 2)}
WIDTH = 76  # what pybabel writes, so a later `pybabel update` makes no churn


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / 'LC_MESSAGES' / 'messages.po'


def extract_template(root: Path = ROOT) -> Catalog:
    """Every marked msgid under appliance/, console/ and modules/, as a template catalog."""
    with (root / 'babel.cfg').open(encoding='utf-8') as handle:
        method_map, options_map = parse_mapping_cfg(handle, 'babel.cfg')

    def walk_into(path: str) -> bool:
        rel = os.path.relpath(path, root).replace(os.sep, '/')
        name = rel.rsplit('/', 1)[-1]
        if rel.split('/', 1)[0] not in SOURCE_DIRS or name.startswith(('.', '_')):
            return False
        return not any(method == 'ignore' and pathmatch(pattern, rel) for pattern, method in method_map)

    template = Catalog(project='Enclave', charset='utf-8', fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS, directory_filter=walk_into
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, no_location=True, sort_output=True, ignore_obsolete=True)
    return buffer.getvalue()


def _body(data: bytes) -> bytes:
    """A catalog file without its date lines, to tell a real change from a new timestamp."""
    return b'\n'.join(
        line for line in data.splitlines() if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision'))
    )


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and _body(path.read_bytes()) == _body(data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open('rb') as handle:
        return read_po(handle, locale=language)


def update_catalog(template: Catalog, path: Path, language: str) -> tuple[Catalog, list[str]]:
    """The .po at `path` brought in line with `template`; also the msgids it no longer has."""
    if path.exists():
        catalog = read_catalog(path, language)
    else:
        catalog = Catalog(locale=language, project=template.project, fuzzy=False)
    before = {_key(message.id) for message in catalog if message.id}
    catalog.update(template, no_fuzzy_matching=True)
    after = {_key(message.id) for message in catalog if message.id}
    return catalog, sorted(before - after)


def extract(root: Path = ROOT) -> int:
    locale_dir = root / 'appliance' / 'locale'
    template = extract_template(root)
    if not write_if_changed(locale_dir / 'messages.pot', render(template)):
        # Keep the old template (and its creation date) so the .po files do not change either.
        template = read_catalog(locale_dir / 'messages.pot')
    print(f'{len(template)} messages in {(locale_dir / "messages.pot").relative_to(root)}')
    for language in LANGUAGES:
        path = po_path(language, locale_dir)
        catalog, dropped = update_catalog(template, path, language)
        changed = write_if_changed(path, render(catalog))
        notes = ['updated' if changed else 'unchanged']
        if language == TRANSLATED:
            notes.append(f'{sum(1 for message in catalog if message.id and not message.string)} untranslated')
        if dropped:
            notes.append(f'dropped {len(dropped)} obsolete')
        print(f'{path.relative_to(root)}: {", ".join(notes)}')
        for msgid in dropped:
            print(f'  dropped: {msgid!r}')
    return 0


def placeholders(text: str) -> Counter[str]:
    """The `{name}` fields of a str.format string (ValueError if the braces are malformed)."""
    return Counter(field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None)


def _key(msgid: str | tuple[str, ...]) -> str:
    """A msgid as one string: a plural message by its singular."""
    return str(msgid[0] if isinstance(msgid, tuple) else msgid)


def problems(template: Catalog, translations: Catalog) -> list[str]:
    """One line per msgid of `template` that `translations` lacks, has fuzzy, or translates with other placeholders."""
    found: list[str] = []
    for message in sorted(template, key=lambda message: _key(message.id)):
        if not message.id:
            continue
        msgid = _key(message.id)
        entry = translations.get(message.id, message.context)
        # A plural message (NP_) has a tuple of forms; every form needs the plural msgid's placeholders.
        forms = [str(form) for form in entry.string] if entry is not None and isinstance(entry.string, tuple) else []
        if entry is not None and not forms and entry.string:
            forms = [str(entry.string)]
        if entry is None or not forms or not all(forms):
            found.append(f'untranslated: {msgid!r}')
            continue
        if entry.fuzzy:
            found.append(f'fuzzy: {msgid!r} -> {entry.string!r}')
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        try:
            expected = placeholders(str(source))
            actual = [placeholders(form) for form in forms]
        except ValueError as error:
            found.append(f'malformed braces ({error}): {msgid!r} -> {entry.string!r}')
            continue
        wrong = next((form for form in actual if form != expected), None)
        if wrong is not None:
            found.append(f'placeholders {sorted(expected)} != {sorted(wrong)}: {msgid!r} -> {entry.string!r}')
    found.extend(
        f'fuzzy: {message.id!r} -> {message.string!r}'
        for message in translations
        if message.id and message.fuzzy and template.get(message.id) is None
    )
    return found


def check(root: Path = ROOT) -> int:
    template = extract_template(root)
    path = po_path(TRANSLATED, root / 'appliance' / 'locale')
    translations = read_catalog(path, TRANSLATED) if path.exists() else Catalog(locale=TRANSLATED)
    found = problems(template, translations)
    for line in found:
        print(line)
    print(f'{len(template)} messages, {len(found)} problem(s) in {path.relative_to(root)}')
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('command', choices=('extract', 'check'))
    args = parser.parse_args(argv)
    return extract() if args.command == 'extract' else check()


if __name__ == '__main__':
    sys.exit(main())
