"""Which language a page speaks (English or Spanish), chosen per request and remembered nowhere.

The order: an explicit `?lang=` (the visible switch on every page), then the browser's
Accept-Language among the languages the campaign's organizers wrote labels in (among all we
have off a campaign page), then the campaign's first language. No cookie and no session keep the
choice: links between our own pages carry `?lang=` instead, so nothing stays in the browser.

The catalogs live in server/translations/ as .po sources with their compiled .mo files committed
beside them (compiled by `pybabel compile -d server/translations`; a unit test checks they match),
so a server needs no build step at run time.
"""

from collections.abc import Iterable
from functools import cache
from typing import Any

from babel.dates import get_date_format, get_day_names, get_month_names
from flask import Flask, g, request, url_for
from flask_babel import Babel, get_locale, gettext, lazy_gettext

SUPPORTED = ("en", "es")
NAMES = {"en": "English", "es": "Español"}

# The pledge page's own sentences, translated here and handed to pledge-page.js in a data
# attribute (one script for every page, whatever its language). `{name}` marks a value the script fills in.
JS_MESSAGES: dict[str, Any] = {
    "verified": lazy_gettext("Checked: the key in your link signed this form."),
    "read_warning": lazy_gettext("Read the warning below before you continue."),
    "refused.key_expired": lazy_gettext(
        "This link has stopped working for now: the organizers’ key must be renewed, and it is "
        "renewed only when one of them opens their Pledgebox app. Tell them if you can, and try "
        "again later. Until then this page will not send anything."),
    "refused.key_cut": lazy_gettext(
        "This link is cut short: the key at its end (after #k=) is incomplete, so this page "
        "cannot check it and will not send anything. Scan the QR code on the poster, or open the "
        "link in the organizers’ post again and copy all of it."),
    "refused.unknown_campaign": lazy_gettext(
        "This campaign could not be found (it may have ended and been deleted), so this page "
        "will not send anything."),
    "refused.unreachable": lazy_gettext(
        "The server could not be reached to verify this link, so this page will not send "
        "anything. Try again later."),
    "refused.other": lazy_gettext(
        "This link could not be verified, so this page will not send anything. Ask the "
        "organizers for the link again."),
    "fact.closes": lazy_gettext("Pledges can be sent until {date} (UTC)."),
    "fact.closes_zone": lazy_gettext("Pledges can be sent until the end of {date}."),
    "before.named": lazy_gettext(
        "encrypted on this phone, readable only by {coalition}, deleted on {date}."),
    "before.unnamed": lazy_gettext(
        "encrypted on this phone, readable only by the organizers, deleted on {date}."),
    "before.unchecked": lazy_gettext(
        "encrypted on this phone with a key nothing could check, deleted on {date}."),
    "in_app": lazy_gettext("You opened this inside {app}"),
    "link_copied": lazy_gettext(
        "Link copied. Now open Chrome or Safari and paste it into the address bar."),
    "link_copy_failed": lazy_gettext(
        "Copying did not work here: use the app’s ⋯ menu to open or copy the link."),
    "share_text": lazy_gettext("Join us: {title}. Pledge here, it’s private:"),
    "share_copied": lazy_gettext(
        "Link and message copied: paste them in a chat with friends you trust."),
    # Counts are of pledges, not people (one phone can pledge twice), and never a number below 5
    # (protocol 1.1 amendments 2 and 3): each sentence stays true whatever the tally holds.
    "tally.total": lazy_gettext("{n} pledges so far"),
    "tally.more_than": lazy_gettext("More than {n} pledges so far"),
    "tally.started": lazy_gettext("Pledges have started at {where}"),
    "tally.and_more": lazy_gettext("{names} and {n} more"),
    "tally.none": lazy_gettext("No pledges counted yet: be one of the first."),
    "tally.closest": lazy_gettext("closest: {name}, {more} more to go"),
    "tally.goal": lazy_gettext("It’s on where {n} or more pledge."),
    "tally.progress": lazy_gettext("{n} of {goal}: {more} more to go"),
    "tally.few": lazy_gettext("A few so far (1 to 4) of {goal}"),
    "tally.on": lazy_gettext("It’s on! {n} pledged (goal: {goal})"),
    "tally.on_at": lazy_gettext("it’s on at {where}"),
    "tally.day": lazy_gettext("Counted on {date}, signed by the organizers."),
    "tally.day_named": lazy_gettext("Counted on {date}, signed by {coalition}."),
    "fact.deleted": lazy_gettext("Your pledge is deleted on {date}, or sooner if you withdraw it."),
    "closed": lazy_gettext(
        "This campaign stopped taking pledges after {date}, so this page will not send anything."),
    "required": lazy_gettext("(required)"),
    "optional": lazy_gettext("(optional)"),
    "contact_hint": lazy_gettext(
        "Only if you want the organizers to contact you. Leave it empty to stay anonymous."),
    "err.choose": lazy_gettext("Please choose one."),
    "err.tick": lazy_gettext("Please tick this box to continue."),
    "err.fill": lazy_gettext("Please fill this in."),
    "err.too_long": lazy_gettext("Please use at most {n} characters."),
    "fix_answers": lazy_gettext("Please fix the answers marked below."),
    "tick_continue": lazy_gettext("Tick “continue anyway” above before sending."),
    "sending": lazy_gettext("Encrypting and sending…"),
    "sent": lazy_gettext("Your pledge was sent. Keep your receipt."),
    "send_failed_network": lazy_gettext(
        "Your pledge could not be sent (the connection failed). Please try again."),
    "too_large": lazy_gettext("Your answers are too long to send; please shorten them."),
    "unreadable_receipt": lazy_gettext(
        "Your pledge was saved, but the server sent back an unreadable receipt, so it cannot be "
        "withdrawn from this page."),
    "http_error": lazy_gettext("Something went wrong (error {status}). Your pledge was not sent."),
    "rate_limited": lazy_gettext(
        "Too many requests are coming from your network right now. Wait {seconds} seconds and "
        "try again."),
    "closed_now": lazy_gettext("This campaign no longer accepts pledges."),
    "copied": lazy_gettext("Copied. Paste it somewhere private, such as a note on your own phone."),
    "copy_fallback": lazy_gettext(
        "The receipt is selected: copy it with your phone’s Copy button (or Ctrl+C)."),
    "announcement_day": lazy_gettext("Posted on {date}"),
    "announcement_older": lazy_gettext("Earlier news ({n})"),
    "calendar_saved": lazy_gettext(
        "Saved on this phone: open the file to add it to your calendar."),
    "not_receipt": lazy_gettext("This does not look like a Pledgebox receipt. Paste the whole receipt."),
    "deleting": lazy_gettext("Deleting…"),
    "deleted": lazy_gettext("Your pledge has been deleted for good."),
    "kept": lazy_gettext("Nothing was deleted: your pledge is still there."),
    "no_match": lazy_gettext("No pledge matches this receipt (it may already be deleted)."),
    "withdraw_unreachable": lazy_gettext(
        "The server could not be reached. Nothing was deleted; please try again."),
    "withdraw_error": lazy_gettext("Something went wrong (error {status}). Nothing was deleted."),
}

# Server messages that reach students on HTML error pages (server/errors.py writes them in
# English); listed here so they are extracted into the catalog and error.html can translate them.
ERROR_MESSAGES = [
    lazy_gettext("There is no such campaign."),
    lazy_gettext("There is nothing here."),
    lazy_gettext("This method is not allowed here."),
    lazy_gettext("Too many requests; wait a little and try again."),
    lazy_gettext("The server cannot store anything right now; try again in a few seconds."),
    lazy_gettext("Something went wrong on the server; nothing was stored."),
    lazy_gettext("The request is malformed."),
    lazy_gettext("The request body is too large."),
]


def offer_languages(languages: Iterable[object]) -> None:
    """Called by a view that knows its campaign: pick among the languages it has labels in."""
    offered = tuple(lang for lang in SUPPORTED if lang in set(languages))
    if offered:
        g.page_languages = offered


def select_locale() -> str:
    asked = request.args.get("lang", "")
    if asked in SUPPORTED:
        return asked
    offered: tuple[str, ...] = g.get("page_languages", SUPPORTED)
    # By the browser's order of preference, matching on the primary tag: es-MX means es.
    # (werkzeug's best_match would prefer a later exact "en" over a first "es-MX".)
    for value, quality in request.accept_languages:
        primary = value.split("-")[0].lower()
        if quality > 0 and primary in offered:
            return primary
    return offered[0]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in SUPPORTED else "en"


def lang_url(endpoint: str, **values: Any) -> str:
    """A link to one of our pages in the language this page speaks (no cookie carries it)."""
    return url_for(endpoint, lang=current_language(), **values)


def translate_message(message: str) -> str:
    """A server message in this page's language: a plain str, so Jinja still escapes it
    (the template's `_()` would mark an untranslated message safe as it is)."""
    return str(gettext(message))


# Sentences only the withdraw page says; the pledge page leaves them out (bytes on slow phones).
WITHDRAW_ONLY = {"not_receipt", "deleting", "deleted", "no_match", "withdraw_unreachable",
                 "withdraw_error", "kept"}


def js_messages(page: str) -> dict[str, str]:
    """The sentences the script needs on `page` ("pledge" or "withdraw"), in this language."""
    if page == "withdraw":
        keys = WITHDRAW_ONLY | {"http_error", "rate_limited"}
    else:
        keys = set(JS_MESSAGES) - WITHDRAW_ONLY
    words = {key: str(text) for key, text in JS_MESSAGES.items() if key in keys}
    if page == "pledge":
        words.update(date_words(current_language()))
    return words


@cache
def date_words(lang: str) -> dict[str, str]:
    """How `lang` writes a calendar day, from CLDR (Babel), for the pledge page's dates
    (web/src/page/dom.js, longDate): the patterns of the "long" and "full" styles and the names
    they use. It is the data the browser's Intl would load, but Intl's first use costs tens of
    ms on a slow phone before the form is ready (issue 21), and these are a few hundred bytes."""
    weekdays = get_day_names("wide", locale=lang)  # Babel: 0 is Monday; JavaScript: 0 is Sunday
    months = get_month_names("wide", locale=lang)
    return {"date.long": get_date_format("long", locale=lang).pattern,
            "date.full": get_date_format("full", locale=lang).pattern,
            "date.months": "|".join(months[m] for m in range(1, 13)),
            "date.weekdays": "|".join(weekdays[(d + 6) % 7] for d in range(7))}


def _template_globals() -> dict[str, Any]:
    lang = current_language()
    return {"lang": lang, "language_names": NAMES, "lang_url": lang_url,
            "translate_message": translate_message,
            "other_languages": [other for other in SUPPORTED if other != lang]}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.context_processor(_template_globals)
