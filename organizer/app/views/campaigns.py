"""The coalition's campaigns: the list, one campaign's page, and wiping one (after a confirmation).
The Blueprint is campaign_bp.bp, shared with the wizard, edit, share, roster and counts pages."""

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as WResponse

from organizer import campaigns, coalition
from organizer.app import preview
from organizer.app.helpers import current_session, fail, notify, synced
from organizer.app.i18n import current_language
from organizer.app.rosters import rosters
from organizer.app.views.campaign_bp import bp
from organizer.errors import UserError
from organizer.link_life import link_life


@bp.app_template_global()
def campaign_title(d: dict[str, Any]) -> str:
    """The campaign's title in the page's language when the organizers wrote one."""
    return str(preview.in_language(d, current_language())["title"])


@bp.app_template_global()
def shown_answer(field: dict[str, Any], text: str) -> str:
    """An answer as the table shows it, in the page's language: a checkbox's yes and no, and a
    choice's option under the Spanish name the organizers gave it (the core counts in English)."""
    if field.get("type") == "checkbox" and text in ("yes", "no"):
        return str(gettext("yes") if text == "yes" else gettext("no"))
    if field.get("type") == "choice" and current_language() != "en":
        for option in field.get("options", []):
            if option["label"].get("en") == text:
                return str(option["label"].get(current_language(), text))
    return text


@bp.get("/")
def index() -> str:
    session = current_session()
    items = sorted(campaigns.list_campaigns(session), key=lambda i: i["descriptor"]["action_date"])
    return render_template("campaigns/index.html", items=items,
                           admin=session.signing_key() is not None)


@bp.get("/<campaign_id>")
def show(campaign_id: str) -> str:
    session = current_session()
    life = link_life(synced(session), coalition.utc_today())  # an admin's visit renews the key
    item = campaigns.find(session, campaign_id)
    return render_template("campaigns/show.html", item=item, d=item["descriptor"],
                           link=campaigns.share_link(session, campaign_id),
                           admin=session.signing_key() is not None, life=life)


@bp.get("/<campaign_id>/wipe")
def confirm_wipe(campaign_id: str) -> str:
    item = campaigns.find(current_session(), campaign_id)
    return render_template("campaigns/wipe.html", item=item, d=item["descriptor"])


@bp.post("/<campaign_id>/wipe")
def wipe(campaign_id: str) -> WResponse:
    session = current_session()
    item = campaigns.find(session, campaign_id)
    typed = " ".join(request.form.get("confirm", "").split()).casefold()
    if typed != " ".join(item["descriptor"]["title"].split()).casefold():
        notify(gettext("Nothing was deleted: type the campaign's title exactly to confirm."), "error")
        return redirect(url_for("campaigns.confirm_wipe", campaign_id=campaign_id), code=303)
    try:
        campaigns.wipe(session, campaign_id)
    except UserError as exc:
        return fail(exc, "campaigns.show", campaign_id=campaign_id)
    notify(gettext("The campaign and all its pledges are deleted for good."))
    rosters().forget(campaign_id)  # the opened answers of a wiped campaign leave memory too
    return redirect(url_for("home.index"), code=303)
