"""The organizers' API, core part: coalition set-up, sync, campaigns and rosters (signed requests)."""

from flask import Blueprint, Response, g, jsonify, request

from crypto.ids import is_id
from crypto.pledge_page import MEDIA_TYPE as PAGE_MEDIA_TYPE
from server.api.auth import body_json, signed, signed_by_newcomer
from server.api.fields import PAGE_QUERY, organizer_keys, page_args, signed_key, wrapped_list
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, plain_text_ok
from server.openapi import (
    DATE,
    ENCRYPTION_KEY,
    ID,
    TEXT,
    VERSION,
    Schema,
    array,
    b64u,
    describe,
    nullable,
    obj,
)
from server.retention import compact_after_request
from server.runtime import instant, now, runtime, today
from server.store import campaigns, coalitions, pledges

bp = Blueprint("organizer_api", __name__, url_prefix="/api/v1/org")


ORGANIZER_KEYS = obj({"sign_public": b64u(32), "box_public": b64u(32)})
WRAPPED = obj({"kind": {"enum": ["signing", "encryption"]}, "version": VERSION,
               "ciphertext": b64u()})
WHOAMI: Schema = {"type": "object", "required": ["coalition_id", "coalition_name", "signing_key",
                                               "encryption_key", "wrapped"],
                "properties": {"coalition_id": ID, "coalition_name": TEXT(200),
                               "signing_key": b64u(32), "encryption_key": ENCRYPTION_KEY,
                               "wrapped": array(WRAPPED)}}
CAMPAIGN_ROW = obj({"campaign_id": ID, "descriptor": b64u(), "descriptor_signature": b64u(64),
                    "closes_at": DATE, "delete_after": DATE,
                    "pledge_count": {"type": "integer", "minimum": 0}})
PLEDGE_ROW = obj({"pledge_id": ID, "received_day": DATE, "key_version": VERSION,
                  "ciphertext": b64u()})


@bp.post("/coalitions")
@describe("Create a coalition with a setup code (signed by the newcomer's own key)",
          body=obj({"setup_code": TEXT(200), "coalition_id": ID, "name": TEXT(200),
                    "signing_key": b64u(32), "encryption_key": ENCRYPTION_KEY,
                    "organizer": ORGANIZER_KEYS, "approval_signature": b64u(64),
                    "wrapped": array(WRAPPED, 10_000)}),
          ok={201: WHOAMI}, errors=(400, 409))
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
@describe("Everything the organizer's tool syncs", ok={200: WHOAMI}, errors=())
@signed(allow_pending=True)
def me() -> Response:
    return jsonify(coalitions.whoami(g.organizer))


@bp.put("/encryption-key")
@describe("Re-sign the current encryption key with a later not_after", body=ENCRYPTION_KEY,
          ok={200: WHOAMI}, errors=(400, 409))
@signed(role="admin")
def refresh_key() -> Response:
    coalitions.refresh_key(g.organizer.coalition, signed_key(body_json()))
    return jsonify(coalitions.whoami(g.organizer))


@bp.post("/campaigns")
@describe("Create a campaign from a signed descriptor",
          body=obj({"descriptor": b64u(), "signature": b64u(64)}),
          ok={201: obj({"campaign_id": ID})}, errors=(400, 409))
@signed(role="admin")
def create_campaign() -> tuple[Response, int]:
    body = body_json()
    exact_fields(body, {"descriptor", "signature"})
    campaign = campaigns.create_campaign(
        g.organizer.coalition, b64u_field(body, "descriptor"), b64u_field(body, "signature", 64),
        instant(), runtime().config.max_retention_days)
    return jsonify({"campaign_id": campaign.id}), 201


@bp.get("/campaigns")
@describe("The coalition's live campaigns", ok={200: obj({"campaigns": array(CAMPAIGN_ROW)})},
          errors=())
@signed()
def list_campaigns() -> Response:
    return jsonify({"campaigns": campaigns.coalition_campaigns(g.organizer.coalition_id, instant())})


@bp.put("/campaigns/<campaign_id>")
@describe("Publish a new version of a campaign (text, dates, new options: crypto/revisions.py)",
          body=obj({"descriptor": b64u(), "signature": b64u(64)}), ok={204: None}, errors=(400, 409))
@signed(role="admin")
def revise_campaign(campaign_id: str) -> tuple[str, int]:
    campaign = campaigns.coalition_campaign(g.organizer.coalition_id, campaign_id, instant())
    body = body_json()  # after the lookup: another coalition's campaign is unknown, whatever the body
    exact_fields(body, {"descriptor", "signature"})
    campaigns.revise_campaign(campaign, b64u_field(body, "descriptor"),
                              b64u_field(body, "signature", 64), instant(),
                              runtime().config.max_retention_days)
    return "", 204


@bp.delete("/campaigns/<campaign_id>")
@describe("Wipe a campaign and its pledges now", ok={204: None}, errors=())
@signed(role="admin")
def wipe_campaign(campaign_id: str) -> tuple[str, int]:
    campaigns.wipe_campaign(campaigns.coalition_campaign(g.organizer.coalition_id, campaign_id,
                                                         instant()))
    compact_after_request()
    return "", 204


@bp.get("/campaigns/<campaign_id>/pledges")
@describe("One page of a campaign's sealed pledges (format=binary: crypto/pledge_page.py)",
          ok={200: obj({"pledges": array(PLEDGE_ROW), "next": nullable(ID)})}, errors=(400,),
          query={**PAGE_QUERY, "format": {"enum": ["json", "binary"]}},
          ok_media={200: {PAGE_MEDIA_TYPE: {"type": "string", "contentMediaType": PAGE_MEDIA_TYPE}}})
@signed()
def list_pledges(campaign_id: str) -> Response:
    campaigns.coalition_campaign(g.organizer.coalition_id, campaign_id, instant())
    after, limit = page_args(default_limit=500)
    form = request.args.get("format", "json")
    if form not in ("json", "binary"):
        raise BadRequest("'format' must be json or binary.")
    if form == "binary":
        return Response(pledges.pledge_page_binary(campaign_id, after, limit, instant()),
                        mimetype=PAGE_MEDIA_TYPE)
    return jsonify(pledges.pledge_page(campaign_id, after, limit, instant()))
