"""What a new version of a published campaign may change: one rule for the server and the tools.

A typo in a published campaign should not cost a new link. An admin signs a new version of the same
campaign (same id, `revision` one higher) in which the text, the dates and the coalition's name may
change and choice questions may gain options, but every question and every existing option keeps its
id, type and wording, and the zone and the threshold keep their meaning: a pledge sealed under the
first version must mean the same under the last (an option quietly renamed from "Covina High" to
"Northview High" would move every pledge for it).
"""

from typing import Any

# Keys a later version may change freely: the campaign's words and dates, and the signed name.
CHANGEABLE = frozenset({"title", "description", "i18n", "coalition_name", "action_date", "closes_at",
                        "delete_after", "languages", "fields", "threshold", "revision"})


def revision_of(descriptor: dict[str, Any]) -> int:
    """A descriptor's revision: 1 when it carries none (every campaign's first version)."""
    value = descriptor.get("revision", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 0


def revision_problem(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why `new` cannot replace `old`, in one sentence; None when it can."""
    if new.get("campaign_id") != old.get("campaign_id") or new.get("coalition_id") != old.get("coalition_id"):
        return "A new version must keep the campaign's id and coalition."
    if revision_of(new) != revision_of(old) + 1:
        return (f"A new version of this campaign must be revision {revision_of(old) + 1}; "
                "reload the campaign and make the change again.")
    for key in (old.keys() | new.keys()) - CHANGEABLE:
        if old.get(key) != new.get(key):
            return f"A new version cannot change the campaign's {key.replace('_', ' ')}."
    return _fields_problem(old.get("fields", []), new.get("fields", [])) or _threshold_problem(old, new)


def _fields_problem(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str | None:
    if [f.get("id") for f in old] != [f.get("id") for f in new]:
        return "A new version keeps every question, in the same order, and adds none."
    for before, after in zip(old, new, strict=True):
        if {k: v for k, v in before.items() if k != "options"} != \
                {k: v for k, v in after.items() if k != "options"}:
            return f"A new version cannot change the question {before.get('id')!r}."
        kept = before.get("options")
        if kept is not None and after.get("options", [])[: len(kept)] != kept:
            return (f"A new version keeps every option of {before.get('id')!r} as it was, and may only "
                    "add new ones after them.")
    return None


def _threshold_problem(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    before, after = old.get("threshold"), new.get("threshold")
    if before is None and after is None:
        return None
    if before is None or after is None or {k: v for k, v in before.items() if k != "per_option"} != \
            {k: v for k, v in after.items() if k != "per_option"}:
        return "A new version cannot change how many pledges a school needs."
    kept = before.get("per_option", {})
    field: dict[str, Any] = next((f for f in old.get("fields", []) if f.get("id") == before.get("field")), {})
    old_options = {o.get("id") for o in field.get("options", [])}
    added = {k for k in after.get("per_option", {}) if k not in kept}
    if {k: v for k, v in after.get("per_option", {}).items() if k in kept} != kept or added & old_options:
        return "A new version cannot change how many pledges a school needs."
    return None
