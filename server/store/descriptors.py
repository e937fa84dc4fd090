"""Checks on a campaign descriptor before the server accepts it (the signed bytes stay as they are)."""

from datetime import date, timedelta
from typing import Any

from crypto.ids import is_id
from server.errors import BadRequest
from server.jsonbody import parse_json, plain_text_ok
from server.zones import UTC_ZONE, day_in, is_known_zone

FIELD_TYPES = {"text", "choice", "checkbox", "contact"}
LANGUAGES = {"en", "es"}
MAX_FIELDS = 30
MAX_OPTIONS = 200
MAX_TITLE, MAX_DESCRIPTION, MAX_NAME = 200, 4000, 200
MIN_THRESHOLD = 5  # protocol 1.1, amendment 2 (descriptors stored before keep working)
MAX_THRESHOLD = 100_000
I18N_KEYS = {"title": MAX_TITLE, "description": MAX_DESCRIPTION, "coalition_name": MAX_NAME}


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


def check_descriptor(raw: bytes, coalition_id: str, now: float, max_retention_days: int
                     ) -> dict[str, Any]:
    """Return the parsed descriptor, or raise BadRequest saying what is wrong with it.

    Version 1.1 keys are checked whenever present (a 1.1 descriptor must name its coalition);
    other keys a later version may add pass through, as clients ignore what they do not know.
    """
    d = parse_json(raw)
    _check_v11(d)
    today = day_in(d.get("time_zone", UTC_ZONE), now)
    for key in ("campaign_id", "coalition_id"):
        if not is_id(d.get(key)):
            raise BadRequest(f"The descriptor's {key!r} must be an id.")
    if d["coalition_id"] != coalition_id:
        raise BadRequest("The descriptor names another coalition.")
    _text(d.get("title"), "title", MAX_TITLE)
    _text(d.get("description", ""), "description", MAX_DESCRIPTION)
    _dates(d, today, max_retention_days)
    langs = d.get("languages")
    if not isinstance(langs, list) or not langs or not set(langs) <= LANGUAGES:
        raise BadRequest("The descriptor's languages must be a list from ['en', 'es'].")
    fields = d.get("fields")
    if not isinstance(fields, list) or not 0 < len(fields) <= MAX_FIELDS:
        raise BadRequest(f"A campaign needs 1 to {MAX_FIELDS} fields.")
    seen: set[str] = set()
    for f in fields:
        _field(f, seen)
    _i18n(d.get("i18n", {}), langs)
    if "threshold" in d:
        _threshold(d["threshold"], fields)
    return d


def _dates(d: dict[str, Any], today: date, max_retention_days: int) -> None:
    """`today` is the date in the campaign's zone."""
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


def _check_v11(d: dict[str, Any]) -> None:
    version = d.get("protocol", "1")
    if not isinstance(version, str) or len(version) > 16:
        raise BadRequest("The descriptor's 'protocol' must be a version like \"1.1\".")
    if version == "1.1" or "coalition_name" in d:
        name = d.get("coalition_name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("A 1.1 descriptor names its coalition: 'coalition_name', 1 to 200 characters.")
        _text(name, "coalition_name", MAX_NAME)
    if "time_zone" in d and not is_known_zone(d["time_zone"]):
        raise BadRequest("The descriptor's 'time_zone' is not an IANA zone this server knows "
                         "(like America/Los_Angeles).")


def _i18n(value: object, languages: list[str]) -> None:
    """Text in the descriptor's other languages: {code: {"title"?, "description"?, "coalition_name"?}}."""
    if not isinstance(value, dict) or not set(value) <= set(languages[1:]):
        raise BadRequest("The descriptor's 'i18n' maps languages listed after the first in "
                         "'languages' to their text.")
    for entry in value.values():
        if not isinstance(entry, dict) or not set(entry) <= set(I18N_KEYS):
            raise BadRequest("Each 'i18n' entry may hold 'title', 'description' and "
                             "'coalition_name' only.")
        for key, text in entry.items():
            _text(text, f"i18n {key}", I18N_KEYS[key])


def _count(value: object) -> int:
    if (isinstance(value, bool) or not isinstance(value, int)
            or not MIN_THRESHOLD <= value <= MAX_THRESHOLD):
        raise BadRequest(f"A threshold count is a whole number from {MIN_THRESHOLD} to "
                         f"{MAX_THRESHOLD}: a smaller one would publish that an option has 1 to 4 "
                         "pledges.")
    return value


def _threshold(value: object, fields: list[dict[str, Any]]) -> None:
    if not isinstance(value, dict) or not {"field", "count"} <= set(value) <= {
            "field", "count", "per_option"}:
        raise BadRequest("The descriptor's 'threshold' is {\"field\", \"count\", \"per_option\"?}.")
    field = next((f for f in fields if f["id"] == value["field"]), None)
    if field is None or field["type"] != "choice" or field["required"] is not True:
        raise BadRequest("A threshold counts a required choice field of the descriptor.")
    _count(value["count"])
    per_option = value.get("per_option", {})
    options = {o["id"] for o in field["options"]}
    if not isinstance(per_option, dict) or not set(per_option) <= options:
        raise BadRequest("The threshold's 'per_option' names options of its field only.")
    for n in per_option.values():
        _count(n)

