"""The public protocol v1 (see docs/protocol.md): what a student's browser talks to."""

from flask import Blueprint, Response, jsonify

from server.jsonbody import b64u_field, exact_fields, int_field, json_object
from server.limits import limiter, pledge_limits, withdraw_limits
from server.openapi import ENCRYPTION_KEY, ID, TEXT, VERSION, b64u, describe, nullable, obj
from server.retention import compact_after_request
from server.runtime import instant, today
from server.store.campaigns import live_campaign, public_view
from server.store.pledges import accept_pledge, withdraw_pledge
from server.store.tallies import MAX_BODY as MAX_TALLY

bp = Blueprint("public_api", __name__, url_prefix="/api/v1")

PLEDGE_BODY_LIMIT = 16 * 1024


CIPHERTEXT = b64u(sizes=tuple(1024 * k + 48 for k in range(1, 9)))
CAMPAIGN = obj({"campaign_id": ID, "coalition_id": ID, "coalition_name": TEXT(200),
                "signing_key": b64u(32), "descriptor": b64u(),
                "descriptor_signature": b64u(64), "encryption_key": ENCRYPTION_KEY,
                "tally": nullable(obj({"body": b64u(min_size=1, max_size=MAX_TALLY),
                                       "signature": b64u(64)}))})


@bp.get("/campaigns/<campaign_id>")
@describe("A live campaign: coalition, signing key, signed descriptor, current key, latest "
          "signed tally (null before the first)",
          ok={200: CAMPAIGN}, errors=())
@limiter.limit(pledge_limits.reads)
def get_campaign(campaign_id: str) -> Response:
    return jsonify(public_view(live_campaign(campaign_id, instant())))


@bp.post("/campaigns/<campaign_id>/pledges")
@describe("Store one sealed pledge",
          body=obj({"key_version": VERSION, "ciphertext": CIPHERTEXT,
                    "withdraw_token_hash": b64u(32)}),
          ok={201: obj({"pledge_id": ID})}, errors=(400, 409, 410),
          error_extra={409: {"encryption_key": ENCRYPTION_KEY}})
@limiter.limit(pledge_limits.per_network)
@limiter.limit(pledge_limits.per_campaign, key_func=pledge_limits.campaign_key)
def post_pledge(campaign_id: str) -> tuple[Response, int]:
    body = json_object(PLEDGE_BODY_LIMIT)
    exact_fields(body, {"key_version", "ciphertext", "withdraw_token_hash"})
    pledge_id = accept_pledge(
        campaign_id,
        key_version=int_field(body, "key_version"),
        ciphertext=b64u_field(body, "ciphertext"),
        withdraw_token_hash=b64u_field(body, "withdraw_token_hash", 32),
        today=today(),
        now=instant(),
    )
    return jsonify({"pledge_id": pledge_id}), 201


@bp.post("/pledges/<pledge_id>/withdraw")
@describe("Delete a pledge for good, by its receipt", body=obj({"withdraw_token": b64u(32)}),
          ok={204: None}, errors=(400,))
@limiter.limit(withdraw_limits)
def withdraw(pledge_id: str) -> tuple[str, int]:
    body = json_object(1024)
    exact_fields(body, {"withdraw_token"})
    withdraw_pledge(pledge_id, b64u_field(body, "withdraw_token", 32), instant())
    compact_after_request(defer=True)  # the rewrite waits for the next purge, not the student
    return "", 204
