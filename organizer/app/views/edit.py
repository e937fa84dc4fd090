"""Changing a published campaign (a typo, a date, a new school) without a new link.

The page starts from the descriptor verified under the coalition's key; the organizer core
(organizer/revisions.py) applies the change and the shared rule (crypto/revisions.py) refuses what
would change the meaning of pledges already sent. A refused change comes back as typed.
"""

from datetime import date

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from crypto import CryptoError
from organizer import campaigns, revisions
from organizer.app.helpers import current_session, notify
from organizer.app.i18n import user_message
from organizer.app.views.campaign_bp import bp
from organizer.errors import BadInput, UserError

TEXTS = ("title", "title_es", "description", "description_es", "action_date", "closes", "delete_after")


@bp.route("/<campaign_id>/edit", methods=["GET", "POST"])
def edit(campaign_id: str) -> str | tuple[str, int] | Response:
    session = current_session()
    descriptor = campaigns.find(session, campaign_id)["descriptor"]
    choices = [f for f in descriptor["fields"] if f["type"] == "choice"]
    if request.method == "GET":
        now = revisions.Revision.of(descriptor)
        typed = {k: str(getattr(now, k)) for k in TEXTS}
        return render_template("campaigns/edit.html", d=descriptor, campaign_id=campaign_id,
                               typed=typed, choices=choices, added={})
    typed = {k: request.form.get(k, "") for k in TEXTS}
    added = {f["id"]: request.form.get(f"add-{f['id']}", "") for f in choices}
    try:
        change = revisions.Revision(
            title=typed["title"], description=typed["description"], title_es=typed["title_es"],
            description_es=typed["description_es"], action_date=_day(typed["action_date"]),
            closes=_day(typed["closes"]), delete_after=_day(typed["delete_after"]), new_options=added)
        revisions.publish_revision(session, campaign_id, change)
    except (UserError, CryptoError) as exc:  # the page again, as typed
        notify(user_message(exc), "error")
        return render_template("campaigns/edit.html", d=descriptor, campaign_id=campaign_id,
                               typed=typed, choices=choices, added=added), 400
    notify(gettext("Saved. Students see the new version now; the link stays the same."))
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput("Pick a date like 2027-02-27.") from None
