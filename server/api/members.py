"""The organizers' API, coalition part: invites, joining, approval, removal and the directory.

Admins invite, approve and remove; every active organizer lists organizers and reads and writes
the directory. Everything is looked up within the signer's own coalition (`g.organizer`).
"""

from flask import Blueprint, Response, g, jsonify

from crypto.envelope import CIPHERTEXT_LENGTHS
from server.api.auth import body_json, signed, signed_by_newcomer
from server.api.fields import organizer_keys, wrapped_list
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, int_field
from server.openapi import ID, VERSION, Schema, array, b64u, describe, nullable, obj
from server.retention import compact_after_request
from server.runtime import now
from server.store import members
from server.store.coalitions import organizer_json, whoami

bp = Blueprint("member_api", __name__, url_prefix="/api/v1/org")

SEALED = b64u(sizes=tuple(sorted(CIPHERTEXT_LENGTHS)))  # 1 KiB buckets, as pledges

ROLE: Schema = {"enum": list(members.ROLES)}
FINGERPRINT: Schema = {"type": "string", "pattern": "^[0-9a-f]{40}$"}
KEYS = obj({"sign_public": b64u(32), "box_public": b64u(32)})
WRAPPED = obj({"kind": {"enum": ["signing", "encryption"]}, "version": VERSION,
               "ciphertext": b64u()})
ORGANIZER = obj({"organizer_id": ID, "fingerprint": FINGERPRINT, "role": ROLE,
                 "status": {"enum": ["pending", "active", "removed"]}, "sign_public": b64u(32),
                 "box_public": b64u(32), "approval_signature": nullable(b64u(64)),
                 "invite_hash": nullable(b64u(32)), "invite_binding": nullable(b64u(32))})
CARD = obj({"fingerprint": FINGERPRINT, "key_version": VERSION, "ciphertext": SEALED})


@bp.post("/invites")
@describe("Register the hash of a one-time invite's locator (admins)",
          body=obj({"locator_hash": b64u(32), "role": ROLE,
                    "days": {"type": "integer", "minimum": 1, "maximum": members.INVITE_DAYS_MAX}},
                   optional=("days",)),
          ok={201: obj({"role": ROLE, "expires_at": {"type": "integer"}})})
@signed(role="admin")
def create_invite() -> tuple[Response, int]:
    body = body_json()
    if isinstance(body, dict) and "token_hash" in body:
        raise members.OldInvite("This version of Pledgebox makes invites the server no longer "
                                "accepts; update Pledgebox, then make the invite again.")
    exact_fields(body, {"locator_hash", "role"}, {"days"})
    if body["role"] not in members.ROLES:
        raise BadRequest("'role' must be 'member' or 'admin'.")
    days = int_field(body, "days", 1, members.INVITE_DAYS_MAX) if "days" in body \
        else members.INVITE_DAYS_DEFAULT
    expires_at = members.create_invite(g.organizer.coalition_id, b64u_field(body, "locator_hash", 32),
                                       body["role"], days, now())
    return jsonify({"role": body["role"], "expires_at": expires_at}), 201


@bp.post("/join")
@describe("Spend an invite: register the signer's keys as a pending organizer",
          body=obj({"invite_locator": b64u(32), "invite_binding": b64u(32), "organizer": KEYS}),
          ok={201: {}},
          errors=(400, 403, 409))
@signed_by_newcomer
def join() -> tuple[Response, int]:
    body = g.body_json
    if isinstance(body, dict) and "invite_token" in body:
        raise members.OldInvite()
    exact_fields(body, {"invite_locator", "invite_binding", "organizer"})
    sign_public, box_public = organizer_keys(body)
    organizer = members.join(b64u_field(body, "invite_locator", members.LOCATOR_BYTES),
                             b64u_field(body, "invite_binding", 32), sign_public, box_public, now())
    return jsonify(whoami(organizer)), 201


@bp.get("/organizers")
@describe("The coalition's organizers", ok={200: obj({"organizers": array(ORGANIZER)})}, errors=())
@signed()
def list_organizers() -> Response:
    return jsonify({"organizers": [organizer_json(o)
                                   for o in members.organizers(g.organizer.coalition_id)]})


@bp.post("/organizers/<fingerprint>/approve")
@describe("Approve a pending organizer: the coalition key's signature and their wrapped secrets",
          body=obj({"approval_signature": b64u(64), "wrapped": array(WRAPPED, 10_000)}),
          ok={200: ORGANIZER}, errors=(400, 409))
@signed(role="admin")
def approve(fingerprint: str) -> Response:
    body = body_json()
    exact_fields(body, {"approval_signature", "wrapped"})
    organizer = members.approve(g.organizer.coalition, fingerprint,
                                b64u_field(body, "approval_signature", 64),
                                [w for _, w in wrapped_list(body["wrapped"])])
    return jsonify(organizer_json(organizer))


@bp.delete("/organizers/<fingerprint>")
@describe("Remove an organizer now: refused from the next request, wrapped secrets deleted",
          ok={204: None}, errors=())
@signed(role="admin")
def remove(fingerprint: str) -> tuple[str, int]:
    members.remove(g.organizer, fingerprint)
    compact_after_request()
    return "", 204


@bp.get("/directory")
@describe("The coalition's directory cards (sealed)", ok={200: obj({"entries": array(CARD)})},
          errors=())
@signed()
def directory() -> Response:
    return jsonify({"entries": members.directory(g.organizer.coalition_id)})


@bp.put("/directory")
@describe("Store the signer's sealed directory card (current key only)",
          body=obj({"key_version": VERSION, "ciphertext": SEALED}), ok={204: None},
          errors=(400, 409), error_extra={409: {"encryption_key": {}}})
@signed()
def put_card() -> tuple[str, int]:
    body = body_json()
    exact_fields(body, {"key_version", "ciphertext"})
    members.put_card(g.organizer, members.DirectoryCard(int_field(body, "key_version"),
                                                        b64u_field(body, "ciphertext")))
    return "", 204


@bp.delete("/directory")
@describe("Delete the signer's directory card", ok={204: None}, errors=())
@signed()
def delete_card() -> tuple[str, int]:
    members.delete_card(g.organizer)
    compact_after_request()
    return "", 204
