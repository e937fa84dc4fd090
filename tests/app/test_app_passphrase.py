"""The app's passphrase page in both languages (finding 17.5): the suggestion is drawn from the
page's language's list, and the strength meter refuses the movement's chants."""

import re

import pytest

from organizer import passphrase
from tests.support.organizer_app import Browser


def suggestion(browser: Browser, lang: str) -> str:
    page = browser.get("/welcome", headers={"Accept-Language": lang}).text
    found = re.search(r'<textarea id="suggested"[^>]*>([^<]+)</textarea>', page)
    assert found, page
    return found.group(1)


@pytest.mark.parametrize(("lang", "count"), [("es", 7), ("en", 6)])
def test_the_suggestion_is_in_the_pages_language(browser_in, lang, count):
    words = suggestion(browser_in, lang).split(" ")
    assert len(words) == count
    assert set(words) <= set(passphrase.wordlist(lang))


@pytest.mark.parametrize("chant", ["si se puede 2027", "el pueblo unido jamas sera vencido",
                                   "chinga la migra 2027", "la migra fuera 2027", "abolish ice now 2027"])
def test_the_meter_and_the_form_refuse_a_chant(browser_in, keystore, chant):
    meter = browser_in.post("/passphrase/estimate", {"passphrase": chant},
                            headers={"X-Pledgebox-Background": "1"})
    assert '"strong_enough":false' in meter.text.replace(" ", "")
    made = browser_in.post("/welcome/create", {"passphrase": chant, "passphrase_again": chant},
                           headers={"Accept-Language": "es"})
    assert made.location.startswith("/welcome")
    assert not keystore.exists()
    assert "demasiado fácil de adivinar" in browser_in.get(made.location,
                                                           headers={"Accept-Language": "es"}).text
