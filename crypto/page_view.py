"""What the pledge page says about a campaign: pure functions shared by the server, which renders
the page, and the organizer's page watch, which renders it again to compare (docs/page-watch.md).

One copy of these rules, so the watch's expectation cannot drift from what the server does.
"""

import json
from typing import Any

DESCRIPTION_CHARS = 200


def embedded_campaign(view: dict[str, Any], descriptor: bytes) -> dict[str, Any]:
    """The campaign answer as the page carries it: the descriptor as its text where it is UTF-8
    (text compresses, base64 does not: about 0.7 KB less on the wire), which the page turns back
    into the exact signed bytes; without the unsigned coalition name, which a 1.1 page never shows."""
    try:
        text = descriptor.decode("utf-8")
    except UnicodeDecodeError:
        return view
    rest = {k: v for k, v in view.items() if k not in ("descriptor", "coalition_name")}
    return {**rest, "descriptor_text": text}


def descriptor_fields(raw: bytes) -> dict[str, Any]:
    """Only for the page's language and link previews: the browser checks the signed descriptor."""
    try:
        d = json.loads(raw)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def page_languages(d: dict[str, Any]) -> list[Any]:
    languages = d.get("languages")
    return languages if isinstance(languages, list) else []


def words(d: dict[str, Any], lang: str, key: str) -> str:
    """A descriptor's text in `lang` (protocol 1.1 i18n), else its first language's, as the page."""
    own = d.get("i18n", {}).get(lang) if isinstance(d.get("i18n"), dict) else None
    languages = d.get("languages")
    first = languages[0] if isinstance(languages, list) and languages else "en"
    if lang != first and isinstance(own, dict) and isinstance(own.get(key), str) and own[key]:
        return str(own[key])
    value = d.get(key)
    return value if isinstance(value, str) else ""


def preview_words(d: dict[str, Any], lang: str, action_line: str) -> tuple[str, str]:
    """(title, description) of a link preview: public words of the descriptor, nothing else."""
    text = " ".join(words(d, lang, "description").split())
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
    lead = " · ".join(part for part in (words(d, lang, "coalition_name"), action_line) if part)
    return words(d, lang, "title"), (f"{lead}. {text}" if lead and text else lead or text)
