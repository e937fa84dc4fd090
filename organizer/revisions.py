"""A new version of a published campaign: fix a typo, move a date, add a school, same link.

The change is made to the descriptor the tool verified under the coalition's key, never to what a
form or the server says it was; crypto/revisions.py decides what a version may change (the server
applies the same rule), so a question or an option never changes meaning under pledges already sent.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crypto.encoding import b64u_encode
from crypto.revisions import revision_of, revision_problem
from crypto.statements import campaign_message
from organizer import campaign_form, campaigns
from organizer.campaigns import MAX_DESCRIPTION, MAX_TITLE, plain_text
from organizer.errors import BadInput, NeedsAdmin
from organizer.session import Session


@dataclass(frozen=True)
class Revision:
    """What an organizer may change, as typed; `new_options` maps a choice question's id to new
    lines "English | Español"."""

    title: str
    description: str
    action_date: date
    closes: date
    delete_after: date
    title_es: str = ""
    description_es: str = ""
    new_options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, descriptor: dict[str, Any]) -> "Revision":
        """The campaign as it stands, as a starting point for the edit form."""
        es = descriptor.get("i18n", {}).get("es", {})
        return cls(title=descriptor["title"], description=descriptor.get("description", ""),
                   action_date=date.fromisoformat(descriptor["action_date"]),
                   closes=date.fromisoformat(descriptor["closes_at"]),
                   delete_after=date.fromisoformat(descriptor["delete_after"]),
                   title_es=es.get("title", ""), description_es=es.get("description", ""))


def revised(current: dict[str, Any], change: Revision) -> dict[str, Any]:
    """The next version of `current` with `change` applied, checked by the shared rule."""
    title = " ".join(change.title.split())
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadInput(f"The title must have 1 to {MAX_TITLE} characters.")
    texts = {"description": plain_text(change.description),
             "description_es": plain_text(change.description_es)}
    if any(len(t) > MAX_DESCRIPTION for t in texts.values()):
        raise BadInput(f"A description may have at most {MAX_DESCRIPTION} characters.")
    if not change.closes <= change.delete_after:
        raise BadInput("The campaign must close on or before its delete-after date.")
    new = json.loads(json.dumps(current))
    new.update(title=title, description=texts["description"], action_date=change.action_date.isoformat(),
               closes_at=change.closes.isoformat(), delete_after=change.delete_after.isoformat(),
               revision=revision_of(current) + 1)
    es = {k: v for k, v in (("title", " ".join(change.title_es.split())),
                            ("description", texts["description_es"])) if v}
    if "coalition_name" in new.get("i18n", {}).get("es", {}):
        es["coalition_name"] = new["i18n"]["es"]["coalition_name"]
    new["i18n"] = {"es": es} if es else {}
    if es and "es" not in new["languages"]:
        new["languages"] = [*new["languages"], "es"]
    for question in new["fields"]:
        typed = change.new_options.get(question["id"], "")
        if typed.strip() and question["type"] == "choice":
            question["options"] = _with_new_options(question["options"], typed)
    problem = revision_problem(current, new)
    if problem is not None:
        raise BadInput(problem)
    return new


def _with_new_options(kept: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    lines = [" ".join(line.split()) for line in typed.splitlines() if line.strip()]
    known = {o["label"]["en"].casefold() for o in kept}
    if again := [line for line in lines if campaigns._label(line)["en"].casefold() in known]:
        raise BadInput(f"{again[0]!r} is already a choice; add only new ones.")
    added = campaign_form.options(lines)
    taken = {o["id"] for o in kept}
    for option in added:  # ids unique beside the kept ones, from the English label as always
        option["id"] = campaigns._slug(option["label"]["en"], taken)
        taken.add(option["id"])
    return [*kept, *added]


def publish_revision(session: Session, campaign_id: str, change: Revision) -> dict[str, Any]:
    """Sign the next version of a campaign and send it; the share link does not change."""
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can create campaigns; ask one of your coalition's admins.")
    current = campaigns.find(session, campaign_id)["descriptor"]  # verified under our key
    new = revised(current, change)
    raw = json.dumps(new, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    session.client().request("PUT", f"/api/v1/org/campaigns/{campaign_id}", {
        "descriptor": b64u_encode(raw), "signature": b64u_encode(signing.sign(campaign_message(raw)))})
    return new
