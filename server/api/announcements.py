"""Announcements: read by anyone who has a campaign's link, posted by its coalition's admins."""

from flask import Blueprint, Response, g, jsonify

from server.api.auth import body_json, signed
from server.jsonbody import b64u_field, exact_fields
from server.limits import limiter, pledge_limits
from server.openapi import ID, array, b64u, describe, obj
from server.retention import compact_after_request
from server.runtime import instant
from server.store.announcements import (
    MAX_BODY,
    MAX_PER_CAMPAIGN,
    add_announcement,
    campaign_announcements,
    delete_announcement,
)
from server.store.campaigns import coalition_campaign, live_campaign

bp = Blueprint("announcements", __name__, url_prefix="/api/v1")

SIGNED_ANNOUNCEMENT = obj({"body": b64u(min_size=1, max_size=MAX_BODY), "signature": b64u(64)})


@bp.get("/campaigns/<campaign_id>/announcements")
@describe("A live campaign's announcements, as signed by its coalition (clients verify them)",
          ok={200: obj({"announcements": array(SIGNED_ANNOUNCEMENT, MAX_PER_CAMPAIGN)})},
          errors=())
@limiter.limit(pledge_limits.reads)
def list_announcements(campaign_id: str) -> Response:
    now = instant()
    campaign = live_campaign(campaign_id, now)
    return jsonify({"announcements": campaign_announcements(campaign, now)})


@bp.post("/org/campaigns/<campaign_id>/announcements")
@describe("Post an announcement signed by the coalition signing key (admins)",
          body=SIGNED_ANNOUNCEMENT, ok={201: obj({"announcement_id": ID})}, errors=(400, 409))
@signed(role="admin")
def post_announcement(campaign_id: str) -> tuple[Response, int]:
    campaign = coalition_campaign(g.organizer.coalition_id, campaign_id, instant())
    body = body_json()
    exact_fields(body, {"body", "signature"})
    announcement_id = add_announcement(campaign, b64u_field(body, "body"),
                                       b64u_field(body, "signature", 64), instant())
    return jsonify({"announcement_id": announcement_id}), 201


@bp.delete("/org/campaigns/<campaign_id>/announcements/<announcement_id>")
@describe("Delete an announcement (admins); its bytes leave the database at once",
          ok={204: None}, errors=())
@signed(role="admin")
def remove_announcement(campaign_id: str, announcement_id: str) -> tuple[str, int]:
    campaign = coalition_campaign(g.organizer.coalition_id, campaign_id, instant())
    delete_announcement(campaign, announcement_id)
    compact_after_request()
    return "", 204
