"""Checks on a campaign descriptor before the server accepts it (the signed bytes stay as they are)."""

from datetime import date, timedelta
from typing import Any

from crypto.ids import is_id
from server.errors import BadRequest
from server.jsonbody import parse_json, plain_text_ok

FIELD_TYPES = {"text", "choice", "checkbox", "contact"}
LANGUAGES = {"en", "es"}
MAX_FIELDS = 30
MAX_OPTIONS = 200


def _date(d: dict[str, Any], key: str) -> date:
    try:
        value = date.fromisoformat(d[key])
        if value.isoformat() != d[key]:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"The descriptor's {key!r} must be a date YYYY-MM-DD.") from None
    return value


def _text(value: object, what: str, max_len: int = 2000) -> None:
    if not isinstance(value, str) or len(value) > max_len or not plain_text_ok(value):
        raise BadRequest(f"The descriptor's {what} must be plain text up to {max_len} characters.")


def _label(value: object, what: str) -> None:
    if not isinstance(value, dict) or not value or not set(value) <= LANGUAGES:
        raise BadRequest(f"The descriptor's {what} must map 'en'/'es' to text.")
    for text in value.values():
        _text(text, what, 500)


def _field(f: object, seen: set[str]) -> None:
    if not isinstance(f, dict) or not is_id(f.get("id")) or f["id"] in seen:
        raise BadRequest("Every descriptor field needs a unique id of [A-Za-z0-9_-].")
    seen.add(f["id"])
    kind = f.get("type")
    if kind not in FIELD_TYPES or not isinstance(f.get("required"), bool):
        raise BadRequest(f"Field {f['id']!r} needs a type of {sorted(FIELD_TYPES)} and 'required'.")
    _label(f.get("label"), f"label of {f['id']!r}")
    if kind == "choice":
        options = f.get("options")
        if not isinstance(options, list) or not 0 < len(options) <= MAX_OPTIONS:
            raise BadRequest(f"Choice field {f['id']!r} needs 1 to {MAX_OPTIONS} options.")
        ids: set[str] = set()
        for o in options:
            if not isinstance(o, dict) or not is_id(o.get("id")) or o["id"] in ids:
                raise BadRequest(f"Options of {f['id']!r} need unique ids.")
            ids.add(o["id"])
            _label(o.get("label"), f"an option of {f['id']!r}")
    if kind in {"text", "contact"}:
        n = f.get("max_length")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 2000:
            raise BadRequest(f"Field {f['id']!r} needs max_length from 1 to 2000.")


def check_descriptor(raw: bytes, coalition_id: str, today: date, max_retention_days: int
                     ) -> dict[str, Any]:
    """Return the parsed descriptor, or raise BadRequest saying what is wrong with it."""
    d = parse_json(raw)
    for key in ("campaign_id", "coalition_id"):
        if not is_id(d.get(key)):
            raise BadRequest(f"The descriptor's {key!r} must be an id.")
    if d["coalition_id"] != coalition_id:
        raise BadRequest("The descriptor names another coalition.")
    _text(d.get("title"), "title", 200)
    _text(d.get("description", ""), "description", 4000)
    action, closes, delete = (_date(d, k) for k in ("action_date", "closes_at", "delete_after"))
    if delete < today:
        raise BadRequest("The descriptor's delete_after is already past.")
    if closes > delete:
        raise BadRequest("A campaign must close on or before its delete_after date.")
    latest = action + timedelta(days=max_retention_days)
    if delete > latest:
        raise BadRequest(
            f"This server keeps data at most {max_retention_days} days after the action date: "
            f"delete_after may be {latest.isoformat()} at the latest.")
    langs = d.get("languages")
    if not isinstance(langs, list) or not langs or not set(langs) <= LANGUAGES:
        raise BadRequest("The descriptor's languages must be a list from ['en', 'es'].")
    fields = d.get("fields")
    if not isinstance(fields, list) or not 0 < len(fields) <= MAX_FIELDS:
        raise BadRequest(f"A campaign needs 1 to {MAX_FIELDS} fields.")
    seen: set[str] = set()
    for f in fields:
        _field(f, seen)
    return d

