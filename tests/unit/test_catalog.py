"""The Indonesian catalog: every message translated, placeholders kept, one plural form, and it compiles."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parents[2] / "portal" / "locale"
ID_PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "messages.po"
POT = LOCALE_DIR / "messages.pot"

# %(name)s / %(n)d / %(value)r, a bare %s / %d, {name} (str.format), HTML tags and entities.
PLACEHOLDER = re.compile(
    r"%\([A-Za-z_]\w*\)[-+ #0]*\d*(?:\.\d+)?[sdifrxXeEgGc]|%[sdifr]|\{\w*\}|</?[A-Za-z][^>]*>|&\w+;"
)

EDGE_PUNCTUATION = set(".,:;?!…")


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="id" if path == ID_PO else None)


def _messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def _forms(message: Message) -> tuple[list[str], list[str]]:
    ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
    strings = (
        [string or "" for string in message.string]
        if isinstance(message.string, (list, tuple))
        else [message.string or ""]
    )
    return ids, strings


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return _read(ID_PO)


def test_indonesian_has_one_plural_form(catalog: Catalog) -> None:
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"
    for message in _messages(catalog):
        if message.pluralizable:
            assert len(_forms(message)[1]) == 1, message.id


def test_every_message_is_translated(catalog: Catalog) -> None:
    untranslated = [message.id for message in _messages(catalog) if not all(_forms(message)[1])]
    assert untranslated == []
    fuzzy = [message.id for message in _messages(catalog) if message.fuzzy]
    assert fuzzy == []


def test_every_template_message_is_in_the_catalog(catalog: Catalog) -> None:
    missing = [
        message.id
        for message in _messages(_read(POT))
        if catalog.get(message.id, context=message.context) is None  # pgettext entries have a context
    ]
    assert missing == [], "run `make messages` and translate the new entries"


def test_translations_keep_placeholders_and_edges(catalog: Catalog) -> None:
    problems = []
    for message in _messages(catalog):
        ids, strings = _forms(message)
        # A plural entry's single Indonesian form follows the plural msgid (the singular may spell out "one").
        expected = _placeholders(ids[-1])
        source = ids[0]
        for string in strings:
            if _placeholders(string) != expected:
                problems.append(("placeholders", message.id, string))
            if source[:1].isspace() != string[:1].isspace() or source[-1:].isspace() != string[-1:].isspace():
                problems.append(("spaces", message.id, string))
            if source[-1:] in EDGE_PUNCTUATION and string[-1:] != source[-1:]:
                problems.append(("punctuation", message.id, string))
    assert problems == []


def test_catalog_compiles_and_translates(catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(buffer, domain="messages")
    assert translations.gettext("Dashboard") == "Dasbor"
    assert translations.ngettext("%(num)d account", "%(num)d accounts", 3) % {"num": 3} == "3 akun"
    for message in _messages(catalog):
        ids, strings = _forms(message)
        values = {name: 1 for name in re.findall(r"%\((\w+)\)", ids[-1])}
        if values:  # the formatted translation must not raise
            for string in strings:
                string % values
