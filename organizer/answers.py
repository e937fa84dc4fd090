"""Whether a pledge's answers have the types its campaign's fields ask for (protocol v1).

Anyone with the link can seal any JSON: a list where a school's id belongs, a number for a
message, an option the form never offered. Counting code trusts the types, so one such pledge
once stopped every count for good (issue 17, finding 6). A pledge that does not fit is counted
as unopened by every reader (roster, exports, tally, app), like a pledge that does not open.
An unanswered field is absent (the page never sends null); keys no field names are ignored.
"""

from typing import Any


def fits(fields: list[dict[str, Any]], answers: dict[str, Any]) -> bool:
    return all(_fits(f, answers[f["id"]]) for f in fields if f["id"] in answers)


def _fits(field: dict[str, Any], value: Any) -> bool:
    kind = field["type"]
    if kind == "checkbox":
        return isinstance(value, bool)
    if kind == "choice":
        return isinstance(value, str) and any(o["id"] == value for o in field.get("options", ()))
    if kind in ("text", "contact"):
        limit = field.get("max_length")
        return isinstance(value, str) and (not isinstance(limit, int) or len(value) <= limit)
    return False  # a type this tool does not know: it cannot show it truthfully
