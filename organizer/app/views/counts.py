"""Publishing a campaign's counts (admins, protocol 1.1 tallies): once by a button, then again at
fixed hours of the campaign's zone while the app is open (organizer/app/autopublish.py)."""

from typing import Any

from flask import url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as WResponse

from organizer import campaigns, tally
from organizer.app.autopublish import publisher
from organizer.app.helpers import current_session, start_job
from organizer.app.views.campaign_bp import bp


@bp.post("/<campaign_id>/roster/publish-counts")
def publish_counts(campaign_id: str) -> WResponse:
    session = current_session()
    zone = str(campaigns.find(session, campaign_id)["descriptor"].get("time_zone") or "UTC")
    keeper = publisher()
    done = str(gettext("The counts are published: the student page shows them now."))

    def work(job: Any) -> str:
        body = tally.compute(session, campaign_id)
        tally.publish(session, campaign_id, body)
        keeper.remember(session, campaign_id, body, zone)
        return done

    back = url_for("campaigns.roster", campaign_id=campaign_id)
    return start_job(gettext("Publishing the counts"), back, work)
