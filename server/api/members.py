"""The organizers' API, coalition part: invites, joining, approval, removal and the directory.

Admins invite, approve and remove; every active organizer lists organizers and reads and writes
the directory. Everything is looked up within the signer's own coalition (`g.organizer`).
"""

from flask import Blueprint, Response, g, jsonify

from server.api.auth import body_json, signed, signed_by_newcomer
from server.api.fields import organizer_keys, wrapped_list
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, int_field
from server.retention import compact_after_request
from server.runtime import now
from server.store import members
from server.store.coalitions import organizer_json, whoami

bp = Blueprint("member_api", __name__, url_prefix="/api/v1/org")


@bp.post("/invites")
@signed(role="admin")
def create_invite() -> tuple[Response, int]:
    body = body_json()
    exact_fields(body, {"token_hash", "role"}, {"days"})
    if body["role"] not in members.ROLES:
        raise BadRequest("'role' must be 'member' or 'admin'.")
    days = int_field(body, "days", 1, members.INVITE_DAYS_MAX) if "days" in body \
        else members.INVITE_DAYS_DEFAULT
    expires_at = members.create_invite(g.organizer.coalition_id, b64u_field(body, "token_hash", 32),
                                       body["role"], days, now())
    return jsonify({"role": body["role"], "expires_at": expires_at}), 201


@bp.post("/join")
@signed_by_newcomer
def join() -> tuple[Response, int]:
    body = g.body_json
    exact_fields(body, {"invite_token", "organizer"})
    sign_public, box_public = organizer_keys(body)
    organizer = members.join(b64u_field(body, "invite_token", members.TOKEN_BYTES), sign_public,
                             box_public, now())
    return jsonify(whoami(organizer)), 201


@bp.get("/organizers")
@signed()
def list_organizers() -> Response:
    return jsonify({"organizers": [organizer_json(o)
                                   for o in members.organizers(g.organizer.coalition_id)]})


@bp.post("/organizers/<fingerprint>/approve")
@signed(role="admin")
def approve(fingerprint: str) -> Response:
    body = body_json()
    exact_fields(body, {"approval_signature", "wrapped"})
    organizer = members.approve(g.organizer.coalition, fingerprint,
                                b64u_field(body, "approval_signature", 64),
                                [w for _, w in wrapped_list(body["wrapped"])])
    return jsonify(organizer_json(organizer))


@bp.delete("/organizers/<fingerprint>")
@signed(role="admin")
def remove(fingerprint: str) -> tuple[str, int]:
    members.remove(g.organizer, fingerprint)
    compact_after_request()
    return "", 204


@bp.get("/directory")
@signed()
def directory() -> Response:
    return jsonify({"entries": members.directory(g.organizer.coalition_id)})


@bp.put("/directory")
@signed()
def put_card() -> tuple[str, int]:
    body = body_json()
    exact_fields(body, {"key_version", "ciphertext"})
    members.put_card(g.organizer, members.DirectoryCard(int_field(body, "key_version"),
                                                        b64u_field(body, "ciphertext")))
    return "", 204


@bp.delete("/directory")
@signed()
def delete_card() -> tuple[str, int]:
    members.delete_card(g.organizer)
    compact_after_request()
    return "", 204
