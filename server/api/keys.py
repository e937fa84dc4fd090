"""The organizers' API, rotation part: publish a new key, re-encrypt in batches, prune old secrets.

Admins only: rotation needs the coalition signing key, and re-encryption replaces ciphertexts.
"""

from typing import Any

from flask import Blueprint, Response, g, jsonify

from crypto.envelope import CIPHERTEXT_LENGTHS
from crypto.ids import is_id
from server.api.auth import body_json, signed
from server.api.fields import PAGE_QUERY, page_args, signed_key, wrapped_list
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, int_field
from server.openapi import ENCRYPTION_KEY, ID, VERSION, array, b64u, describe, nullable, obj
from server.retention import compact_after_request
from server.runtime import instant
from server.store import rotation

bp = Blueprint("key_api", __name__, url_prefix="/api/v1/org")

SEALED = b64u(sizes=tuple(sorted(CIPHERTEXT_LENGTHS)))  # 1 KiB buckets, as pledges


ROTATION_WRAPPED = obj({"organizer_id": ID, "kind": {"enum": ["encryption"]}, "version": VERSION,
                        "ciphertext": b64u()})
STALE_ROW = obj({"pledge_id": ID, "key_version": VERSION, "ciphertext": b64u()})
RESEALED = {name: array(obj({key: ID, "from_version": VERSION, "ciphertext": SEALED}),
                        rotation.MAX_BATCH)
            for name, key in (("pledges", "pledge_id"), ("directory", "fingerprint"))}
VERSIONS = array(VERSION)


@bp.post("/keys")
@describe("Publish encryption key version n+1, wrapped to every active organizer (admins)",
          body=obj({"encryption_key": ENCRYPTION_KEY, "wrapped": array(ROTATION_WRAPPED, 10_000)}),
          ok={201: obj({"version": VERSION})}, errors=(400, 409))
@signed(role="admin")
def publish() -> tuple[Response, int]:
    body = body_json()
    exact_fields(body, {"encryption_key", "wrapped"})
    version = rotation.publish_key(g.organizer.coalition, signed_key(body["encryption_key"]),
                                   wrapped_list(body["wrapped"], with_organizer=True))
    return jsonify({"version": version}), 201


@bp.get("/campaigns/<campaign_id>/stale-pledges")
@describe("One page of a campaign's pledges still sealed to an older key (admins)",
          query=PAGE_QUERY,
          ok={200: obj({"version": VERSION, "pledges": array(STALE_ROW), "next": nullable(ID)})})
@signed(role="admin")
def stale_pledges(campaign_id: str) -> Response:
    after, limit = page_args(default_limit=1000)
    return jsonify(rotation.stale_pledges(g.organizer.coalition_id, campaign_id, after, limit,
                                          instant()))


def _resealed(body: dict[str, Any], name: str, key: str) -> list[rotation.Resealed]:
    items = body.get(name, [])
    if not isinstance(items, list) or len(items) > rotation.MAX_BATCH:
        raise BadRequest(f"'{name}' must be a list of at most {rotation.MAX_BATCH} items.")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest(f"Each item of '{name}' must be an object.")
        exact_fields(item, {key, "from_version", "ciphertext"})
        if not is_id(item[key]):
            raise BadRequest(f"Each item of '{name}' needs a valid {key!r}.")
        out.append((item[key], int_field(item, "from_version"), b64u_field(item, "ciphertext")))
    return out


@bp.post("/reencrypt")
@describe("Replace ciphertexts still sealed to the version named, in one transaction (admins)",
          body=obj({"to_version": VERSION, **RESEALED}, optional=("pledges", "directory")),
          ok={200: obj({"updated": {"type": "integer"}, "skipped": {"type": "integer"}})},
          errors=(400, 409), error_extra={409: {"encryption_key": {}}})
@signed(role="admin")
def reencrypt() -> Response:
    body = body_json()
    exact_fields(body, {"to_version"}, {"pledges", "directory"})
    result = rotation.reencrypt(g.organizer.coalition_id, int_field(body, "to_version"),
                                _resealed(body, "pledges", "pledge_id"),
                                _resealed(body, "directory", "fingerprint"), instant())
    return jsonify(result)  # compaction waits for the prune at the end, not every batch


@bp.post("/keys/prune")
@describe("Delete wrapped copies of key versions nothing live is sealed to (admins)",
          body=obj({}), ok={200: obj({"current": VERSION, "in_use": VERSIONS, "deleted": VERSIONS})},
          errors=(400,))
@signed(role="admin")
def prune() -> Response:
    exact_fields(body_json(), set())
    result = rotation.prune(g.organizer.coalition_id, instant())
    compact_after_request()
    return jsonify(result)
