"""The organizer app's Spanish catalog is complete, compiled, and keeps every placeholder; the
core's sentences the app shows are in it, word for word."""

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from crypto import errors as crypto_errors
from organizer import errors, members
from organizer.app import i18n

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "organizer" / "app"
PO = APP / "translations" / "es" / "LC_MESSAGES" / "messages.po"
MO = APP / "translations" / "es" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)[sd]|<[^>]+>")


def _messages(catalog) -> dict:  # type: ignore[no-untyped-def]
    return {tuple(m.id) if isinstance(m.id, list | tuple) else m.id:
            tuple(m.string) if isinstance(m.string, list | tuple) else m.string
            for m in catalog if m.id}


def test_committed_mo_matches_the_po_source() -> None:
    with PO.open("rb") as po, MO.open("rb") as mo:
        assert _messages(read_po(po)) == _messages(read_mo(mo)), \
            "run: pybabel compile -d organizer/app/translations"


def test_every_message_is_translated_and_keeps_its_placeholders() -> None:
    with PO.open("rb") as po:
        catalog = read_po(po)
    count = 0
    for message in catalog:
        if not message.id:
            continue
        count += 1
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {ids[0]!r}"
        assert not message.fuzzy, f"fuzzy: {ids[0]!r}"
        for text in strings:
            assert sorted(PLACEHOLDER.findall(ids[-1])) == sorted(PLACEHOLDER.findall(text)), ids[0]
    assert count > 150


def test_catalog_holds_every_message_in_the_code() -> None:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    wanted = {found[2] if isinstance(found[2], str) else found[2][0]
              for found in extract_from_dir(APP, method_map, keywords=keywords)}
    assert "Compare these aloud, by call or in person." in wanted
    with PO.open("rb") as po:
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po) if m.id}
    assert wanted <= have, f"run pybabel update: missing {sorted(wanted - have)[:3]}"


def test_the_core_sentences_the_app_translates_are_the_cores_own() -> None:
    """A docstring reworded in organizer/errors.py must be reworded here too, or it shows in English."""
    listed = {str(m._args[0]) for m in i18n.CORE_MESSAGES}  # lazy strings keep their source
    for cls in (errors.KeyMismatch, errors.NeedsAdmin, errors.NoSecretForVersion, errors.BadInput,
                errors.ServerRefused, crypto_errors.WrongPassphrase, crypto_errors.KeystoreCorrupt,
                members.BadInvite, members.OldInvite, errors.ServerRedirected, errors.AppLocked):
        assert " ".join((cls.__doc__ or "").split()) in listed, cls.__name__  # as str(error) reads
