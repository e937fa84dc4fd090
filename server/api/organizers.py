"""The organizers' API, core part: coalition set-up, sync, campaigns and rosters (signed requests)."""

from flask import Blueprint, Response, g, jsonify, request

from server.api.auth import body_json, signed, signed_by_newcomer
from server.api.fields import organizer_keys, signed_key, wrapped_list
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, is_id, plain_text_ok
from server.retention import compact_after_request
from server.runtime import now, runtime, today
from server.store import campaigns, coalitions, pledges

bp = Blueprint("organizer_api", __name__, url_prefix="/api/v1/org")

PAGE_MAX = 2000


@bp.post("/coalitions")
@signed_by_newcomer
def create_coalition() -> tuple[Response, int]:
    body = g.body_json
    exact_fields(body, {"setup_code", "coalition_id", "name", "signing_key", "encryption_key",
                        "organizer", "approval_signature", "wrapped"})
    name, coalition_id = body["name"], body["coalition_id"]
    if not isinstance(name, str) or not 0 < len(name) <= 200 or not plain_text_ok(name):
        raise BadRequest("'name' must be text of 1 to 200 characters.")
    if not is_id(coalition_id) or not isinstance(body["setup_code"], str):
        raise BadRequest("'coalition_id' must be an id and 'setup_code' text.")
    sign_public, box_public = organizer_keys(body)
    organizer = coalitions.create_coalition(
        code=body["setup_code"], coalition_id=coalition_id, name=name,
        signing_key=b64u_field(body, "signing_key", 32), key=signed_key(body["encryption_key"]),
        sign_public=sign_public, box_public=box_public,
        approval=b64u_field(body, "approval_signature", 64),
        wrapped=[w for _, w in wrapped_list(body["wrapped"])], now=now(), today=today())
    return jsonify(coalitions.whoami(organizer)), 201


@bp.get("/me")
@signed(allow_pending=True)
def me() -> Response:
    return jsonify(coalitions.whoami(g.organizer))


@bp.put("/encryption-key")
@signed(role="admin")
def refresh_key() -> Response:
    coalitions.refresh_key(g.organizer.coalition, signed_key(body_json()))
    return jsonify(coalitions.whoami(g.organizer))


@bp.post("/campaigns")
@signed(role="admin")
def create_campaign() -> tuple[Response, int]:
    body = body_json()
    exact_fields(body, {"descriptor", "signature"})
    campaign = campaigns.create_campaign(
        g.organizer.coalition, b64u_field(body, "descriptor"), b64u_field(body, "signature", 64),
        today(), runtime().config.max_retention_days)
    return jsonify({"campaign_id": campaign.id}), 201


@bp.get("/campaigns")
@signed()
def list_campaigns() -> Response:
    return jsonify({"campaigns": campaigns.coalition_campaigns(g.organizer.coalition_id, today())})


@bp.delete("/campaigns/<campaign_id>")
@signed(role="admin")
def wipe_campaign(campaign_id: str) -> tuple[str, int]:
    campaigns.wipe_campaign(campaigns.coalition_campaign(g.organizer.coalition_id, campaign_id,
                                                         today()))
    compact_after_request()
    return "", 204


@bp.get("/campaigns/<campaign_id>/pledges")
@signed()
def list_pledges(campaign_id: str) -> Response:
    campaigns.coalition_campaign(g.organizer.coalition_id, campaign_id, today())
    after = request.args.get("after", "")
    try:
        limit = int(request.args.get("limit", "500"))
    except ValueError:
        raise BadRequest("'limit' must be a whole number.") from None
    if (after and not is_id(after)) or not 1 <= limit <= PAGE_MAX:
        raise BadRequest(f"'after' must be a pledge id and 'limit' 1 to {PAGE_MAX}.")
    return jsonify(pledges.pledge_page(campaign_id, after, limit, today()))
