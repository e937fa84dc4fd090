"""Shapes shared by several organizer endpoints: keys, signed encryption keys, wrapped secrets,
and the `after`/`limit` of paged listings."""

from typing import Any

from flask import request

from crypto.ids import is_id
from server.errors import BadRequest
from server.jsonbody import b64u_field, exact_fields, int_field
from server.openapi import ID, Schema
from server.store.coalitions import SignedKey, Wrapped

MAX_WRAPPED = 10_000
PAGE_MAX = 2000
PAGE_QUERY: Schema = {"after": ID, "limit": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}}


def page_args(default_limit: int) -> tuple[str, int]:
    """A paged listing's `after` (a pledge id, or empty for the first page) and `limit`."""
    after = request.args.get("after", "")
    try:
        limit = int(request.args.get("limit", str(default_limit)))
    except ValueError:
        raise BadRequest("'limit' must be a whole number.") from None
    if (after and not is_id(after)) or not 1 <= limit <= PAGE_MAX:
        raise BadRequest(f"'after' must be a pledge id and 'limit' 1 to {PAGE_MAX}.")
    return after, limit


def organizer_keys(body: dict[str, Any]) -> tuple[bytes, bytes]:
    org = body.get("organizer")
    if not isinstance(org, dict):
        raise BadRequest("'organizer' must be an object with sign_public and box_public.")
    exact_fields(org, {"sign_public", "box_public"})
    return b64u_field(org, "sign_public", 32), b64u_field(org, "box_public", 32)


def signed_key(value: object) -> SignedKey:
    if not isinstance(value, dict):
        raise BadRequest("'encryption_key' must be an object.")
    exact_fields(value, {"version", "not_after", "public_key", "signature"})
    not_after = value["not_after"]
    if not isinstance(not_after, str) or len(not_after) != 10:
        raise BadRequest("'not_after' must be a date YYYY-MM-DD.")
    return SignedKey(int_field(value, "version"), not_after, b64u_field(value, "public_key", 32),
                     b64u_field(value, "signature", 64))


def wrapped_list(value: object, with_organizer: bool = False) -> list[tuple[str | None, Wrapped]]:
    if not isinstance(value, list) or len(value) > MAX_WRAPPED:
        raise BadRequest("'wrapped' must be a list of wrapped secrets.")
    out: list[tuple[str | None, Wrapped]] = []
    for item in value:
        if not isinstance(item, dict):
            raise BadRequest("Each wrapped secret must be an object.")
        exact_fields(item, {"kind", "version", "ciphertext"},
                     {"organizer_id"} if with_organizer else set())
        if item["kind"] not in ("signing", "encryption"):
            raise BadRequest("A wrapped secret's kind is 'signing' or 'encryption'.")
        organizer_id = item.get("organizer_id")
        if with_organizer and not is_id(organizer_id):
            raise BadRequest("Each wrapped secret must name its organizer_id.")
        out.append((organizer_id, Wrapped(item["kind"], int_field(item, "version"),
                                          b64u_field(item, "ciphertext"))))
    return out
