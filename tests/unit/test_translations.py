"""The Spanish catalog is complete, compiled, and keeps every placeholder the code fills in."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "server" / "translations"
PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s|<[^>]+>")


def _messages(catalog) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.id: m.string for m in catalog if m.id}


def test_committed_mo_matches_the_po_source() -> None:
    with PO.open("rb") as po, MO.open("rb") as mo:
        assert _messages(read_po(po)) == _messages(read_mo(mo)), \
            "run: pybabel compile -d server/translations"


def test_every_message_is_translated_and_keeps_its_placeholders() -> None:
    with PO.open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), \
            message.id


def test_catalog_holds_every_message_in_the_code() -> None:
    """Nothing said in a template or in i18n.py is missing from the catalog (would show English)."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    wanted = {found[2] for found in extract_from_dir(ROOT / "server", method_map,
                                                      keywords=keywords)}
    assert "Withdraw a pledge" in wanted
    assert "Posted on {date}" in wanted
    with PO.open("rb") as po:
        have = set(_messages(read_po(po)))
    assert wanted <= have, f"run pybabel update: missing {sorted(wanted - have)[:3]}"


@pytest.mark.parametrize(("accept", "query", "expected"), [
    ("es-MX,en;q=0.5", "", "es"),  # the first preference wins, by its primary tag
    ("en-US,en;q=0.9,es;q=0.8", "", "en"),
    ("fr-FR,es;q=0.5", "", "es"),
    ("fr", "", "en"),
    ("", "", "en"),
    ("es", "?lang=en", "en"),  # the visible switch beats the browser
    ("en", "?lang=es", "es"),
    ("es", "?lang=de", "es"),  # an unknown choice is ignored
])
def test_page_language_from_switch_then_browser(client, accept, query, expected) -> None:
    reply = client.get("/withdraw" + query, headers={"Accept-Language": accept})
    assert f'<html lang="{expected}">' in reply.text
    assert "Set-Cookie" not in reply.headers  # the choice is remembered nowhere


def test_internal_links_carry_the_language(client) -> None:
    text = client.get("/?lang=es").text
    assert 'href="/withdraw?lang=es"' in text
    assert 'href="?lang=en" hreflang="en" lang="en"' in text
