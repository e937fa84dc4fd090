"""The app's language: the organizer's own switch, else the browser's first preference, else English.

The choice is kept in this app's memory for the browser session (the app is on the organizer's
own laptop, in their trust zone). Catalogs live in organizer/app/translations with the compiled
.mo committed (tests/unit/test_app_translations.py checks they match and are complete).
"""

from typing import Any

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext

from crypto.identity import safety_number, safety_words
from organizer.errors import KeyRolledBack, ServerUnreachable, WeakPassphrase

SUPPORTED = ("en", "es")
NAMES = {"en": "English", "es": "Español"}

# Sentences the organizer core says (error docstrings, in English) that the app shows often:
# literal here so they are extracted into the catalog; translate_message() looks each one up,
# and tests/unit/test_app_translations.py checks they still match the error classes.
CORE_MESSAGES = [
    lazy_gettext("Something went wrong; nothing more was done. Try again."),
    lazy_gettext("The server refused the request."),
    lazy_gettext("That input is not valid."),
    lazy_gettext("That passphrase does not unlock this keystore; check it and try again."),
    lazy_gettext("The keystore file is damaged or not a Pledgebox keystore; restore it from your "
                 "backup."),
    lazy_gettext("The server's coalition key differs from your keystore's: do not trust it; tell "
                 "your coalition."),
    lazy_gettext("Only admins can do this; ask one of your coalition's admins."),
    lazy_gettext("You do not hold the key needed for this; ask an admin to approve you or "
                 "re-share the keys."),
    lazy_gettext("Could not reach the Pledgebox server; check the address and your connection, "
                 "then try again."),
    lazy_gettext("This organizer was removed from the coalition."),
    lazy_gettext("A keystore is already here; nothing was replaced."),
    lazy_gettext("The server tried to send this request to another address, and Pledgebox never "
                 "follows such a redirect: check the server's address with your coalition, or "
                 "tell your server's operator."),
    lazy_gettext("A threshold is a number of pledges from 5 to 100000: a smaller one would show "
                 "that a school has 1 to 4 pledges."),
    lazy_gettext("The threshold is a whole number of pledges from 5, like 20, or empty for none."),
    lazy_gettext("Not published: there are 1 to 4 pledges so far, and a number that small could "
                 "point at the students who pledged. Counts are published from 5 pledges."),
    lazy_gettext("The app locked while this was running, so it stopped part-way: unlock it and "
                 "start again (what was already done is kept)."),
    lazy_gettext("This is not a Pledgebox invite: copy the whole line the admin sent you "
                 "(pledgebox-invite:…)."),
    lazy_gettext("This invite was made by an older version of Pledgebox and can no longer be used "
                 "safely: ask the admin who sent it for a new invite."),
]


def select_locale() -> str:
    browser = g.get("browser")
    if browser is not None and browser.lang in SUPPORTED:
        return str(browser.lang)
    for value, quality in request.accept_languages:
        primary = value.split("-")[0].lower()
        if quality > 0 and primary in SUPPORTED:
            return primary
    return "en"


def current_language() -> str:
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None and locale.language in SUPPORTED else "en"


def translate_message(message: str) -> str:
    """A core sentence in the page's language when the catalog has it, else as written."""
    return str(gettext(message)) if message else message


def user_message(exc: Exception) -> str:
    """A core error as the one sentence the organizer reads, in the page's language."""
    if isinstance(exc, ServerUnreachable) and exc.address:
        return str(gettext("Could not reach the Pledgebox server at %(address)s; check the "
                           "address and your connection, then try again.", address=exc.address))
    if isinstance(exc, KeyRolledBack) and exc.seen:
        return str(gettext(
            "The server served encryption key version %(served)s, older than version %(seen)s "
            "that your coalition already uses (the key was rolled back, perhaps so a removed "
            "organizer can read new pledges): nothing was signed or sent; tell your coalition's "
            "admins and the server's operator, and share no link until it is fixed.",
            served=exc.served, seen=exc.seen))
    if isinstance(exc, WeakPassphrase):  # the page offers its own suggestion
        return str(gettext("That passphrase is too easy to guess: use at least four random words "
                           "(12 characters or more)."))
    return translate_message(str(exc))


def _template_globals() -> dict[str, Any]:
    lang = current_language()
    return {"lang": lang, "language_names": NAMES, "translate_message": translate_message,
            "other_languages": [other for other in SUPPORTED if other != lang],
            # Organizers compare the number (the same in every language); the words, in the
            # page's language, are an aid to reading it (crypto/identity.py).
            "safety_number": safety_number,
            "safety_words_for": lambda fp: safety_words(fp, lang)}


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app, locale_selector=select_locale)
    app.context_processor(_template_globals)
