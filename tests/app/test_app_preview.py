"""The wizard's preview mirrors the student page (organizer/app/preview.py says why a mirror): the
same elements, the same sentences with the same Spanish, the server's own stylesheet, and every
word the organizers typed escaped. These tests fail when the student page moves on without it."""

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from organizer.app import preview

ROOT = Path(__file__).resolve().parents[2]
PHONE = ROOT / "organizer" / "app" / "templates" / "campaigns" / "phone.html"
STUDENT_PAGE = ROOT / "server" / "templates" / "pledge.html"
# What a student sees on a verified link before sending, by the ids the page's script fills in.
SHOWN = {"coalition-name", "campaign-title", "action-day", "action-date", "status", "pledge-form",
         "pledge-controls", "pledge-fields", "before-sending", "before-summary", "send-button",
         "campaign", "about-heading", "campaign-description", "campaign-facts"}


def ids(text: str) -> set[str]:
    return set(re.findall(r'\bid="([a-z-]+)"', text))


def test_the_preview_has_the_student_pages_elements() -> None:
    assert ids(STUDENT_PAGE.read_text()) >= SHOWN, "the student page changed: update phone.html"
    assert ids(PHONE.read_text()) >= SHOWN


def catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if isinstance(m.id, str) and m.id}


def test_the_preview_says_the_student_pages_sentences_in_both_languages() -> None:
    used = {m[1] for m in extract_from_file("jinja2", str(PHONE), keywords=DEFAULT_KEYWORDS)
            if isinstance(m[1], str)}
    assert "Before you send:" in used
    server = catalog(ROOT / "server" / "translations" / "es" / "LC_MESSAGES" / "messages.po")
    app = catalog(ROOT / "organizer" / "app" / "translations" / "es" / "LC_MESSAGES" / "messages.po")
    gone = sorted(used - server.keys())
    assert gone == [], f"the student page no longer says {gone[:2]}: update phone.html"
    differ = sorted(m for m in used if app.get(m) != server[m])
    assert differ == [], f"the app's Spanish differs from the student page's for {differ[:2]}"


def test_typed_words_are_escaped_and_dates_read_as_words() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    sentence = "readable only by {coalition}, deleted on {date}."
    made = str(preview.with_date(sentence, "2027-02-27", "es", coalition=hostile))
    assert hostile not in made
    assert "&lt;img" in made
    assert '<time class="date" datetime="2027-02-27">27 de febrero de 2027</time>' in made
    ref = 'only the coalition (<span class="coalition-ref">the organizers</span>), on theirs.'
    named = str(preview.with_coalition(ref, hostile))
    assert hostile not in named
    assert '<span class="coalition-ref">&lt;img' in named
    assert str(preview.with_coalition(ref, "")) == ref
    assert preview.long_date("2027-02-27", "en", "full") == "Saturday, February 27, 2027"
