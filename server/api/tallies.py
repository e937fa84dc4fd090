"""Tallies (protocol 1.1): an admin publishes the counts the coalition signed; pages show them."""

from flask import Blueprint, Response, g, jsonify

from server.api.auth import body_json, signed
from server.jsonbody import b64u_field, exact_fields
from server.openapi import DATE, b64u, describe, obj
from server.runtime import instant
from server.store.campaigns import coalition_campaign
from server.store.tallies import MAX_BODY, publish_tally

bp = Blueprint("tallies", __name__, url_prefix="/api/v1/org")

SIGNED_TALLY = obj({"body": b64u(min_size=1, max_size=MAX_BODY), "signature": b64u(64)})


@bp.put("/campaigns/<campaign_id>/tally")
@describe("Publish a tally signed by the coalition signing key (admins); the latest is served "
          "with the campaign. 409 when the server holds one from a later day",
          body=SIGNED_TALLY, ok={200: obj({"day": DATE})}, errors=(400, 409))
@signed(role="admin")
def put_tally(campaign_id: str) -> Response:
    now = instant()
    campaign = coalition_campaign(g.organizer.coalition_id, campaign_id, now)
    body = body_json()
    exact_fields(body, {"body", "signature"})
    day = publish_tally(campaign, b64u_field(body, "body"), b64u_field(body, "signature", 64), now)
    return jsonify({"day": day.isoformat()})
