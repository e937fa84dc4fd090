"""Organizers' requests are authenticated by RFC 9421 signatures from their own Ed25519 keys.

No passwords and no cookies: each request is signed over method, host, path, query and body
digest, with a timestamp window and a single-use nonce. A refused request changes nothing stored.

An unknown key id, a signature that does not verify, a path or host that cannot be put in a
signature base: all get the same 401, byte for byte, after the same Ed25519 verification work, so
the answers do not tell a prober which organizer ids exist.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from peewee import IntegrityError

from crypto import BadSignature
from crypto import _primitives as primitives
from crypto.identity import fingerprint
from crypto.request_auth import (
    SignatureParams,
    content_digest,
    parse_signature_headers,
    signature_base,
    verify_request,
)
from server.api.fields import organizer_keys
from server.db import database
from server.errors import Forbidden, Unauthorized
from server.jsonbody import parse_json, read_body
from server.models import Organizer, RequestNonce
from server.runtime import now

WINDOW_SECONDS = 300
NONCE_BUCKET = 600
MAX_BODY = 8 * 1024 * 1024
# Verified against when the key id is unknown, so that answer costs the same work as a bad signature.
_NOBODY = primitives.sign_keypair(primitives.random_bytes(32))[0]
NOT_VERIFIED = "This request's signature does not verify for a known organizer."


def _params_and_body() -> tuple[SignatureParams, bytes, bytes]:
    try:
        params, signature = parse_signature_headers(
            request.headers.get("Signature-Input", ""), request.headers.get("Signature", ""))
    except BadSignature:
        raise Unauthorized("This request carries no valid Signature-Input/Signature.") from None
    if abs(now() - params.created) > WINDOW_SECONDS:
        raise Unauthorized("This request's signature has expired; check your computer's clock.")
    body = read_body(MAX_BODY) if request.method in {"POST", "PUT", "PATCH", "DELETE"} else b""
    if request.headers.get("Content-Digest") != content_digest(body):
        raise Unauthorized("The Content-Digest does not match the body.")
    return params, signature, body


def _verify(params: SignatureParams, signature: bytes, body: bytes, sign_public: bytes | None) -> None:
    """One refusal for every way this can fail (see the module docstring)."""
    try:  # the base is built inside: a path holding %0A is a refusal like any other, not a crash
        base = signature_base(request.method, request.host, request.path,
                              request.query_string.decode("latin-1"), content_digest(body), params)
        verify_request(_NOBODY if sign_public is None else sign_public, base, signature)
    except (BadSignature, UnicodeError, ValueError):
        raise Unauthorized(NOT_VERIFIED) from None
    if sign_public is None:
        raise Unauthorized(NOT_VERIFIED)


def nonce_expiry(created: int) -> int:
    """When a nonce may be forgotten: once its request is refused as stale anyway (created +
    WINDOW_SECONDS), rounded up to a NONCE_BUCKET boundary, so a stored row tells the time of an
    organizer's request only to within that bucket, never to the second."""
    return -(-(created + WINDOW_SECONDS) // NONCE_BUCKET) * NONCE_BUCKET


def _spend_nonce(params: SignatureParams) -> None:
    nonce_hash = primitives.blake2b(f"{params.keyid}\x00{params.nonce}".encode())
    try:
        with database.atomic():
            RequestNonce.insert(nonce_hash=nonce_hash, expires_at=nonce_expiry(params.created)).execute()
    except IntegrityError:
        raise Unauthorized("This request was already received once (a replay).") from None


def signed(role: str | None = None, allow_pending: bool = False) -> Callable[..., Any]:
    """Require a request signed by a registered organizer (of `role`, if given)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            params, signature, body = _params_and_body()
            organizer = Organizer.get_or_none(Organizer.id == params.keyid)
            _verify(params, signature, body, None if organizer is None else bytes(organizer.sign_public))
            with database.atomic():
                _spend_nonce(params)
                _require(organizer, role, allow_pending)
                g.organizer, g.body = organizer, body
                return view(*args, **kwargs)

        return wrapper

    return decorate


def _require(organizer: Organizer, role: str | None, allow_pending: bool) -> None:
    if organizer.status == "removed":
        raise Forbidden("This organizer was removed from the coalition.")
    if organizer.status == "pending" and not allow_pending:
        raise Forbidden("An admin has not approved you yet: compare safety words with them first.")
    if role == "admin" and organizer.role != "admin":
        raise Forbidden("Only the coalition's admins may do this.")


def signed_by_newcomer(view: Callable[..., Any]) -> Callable[..., Any]:
    """For requests that register a key: verified with the key in the body itself."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        params, signature, body = _params_and_body()
        g.body_json = parse_json(body)
        sign_public, box_public = organizer_keys(g.body_json)
        if params.keyid != fingerprint(sign_public, box_public):
            raise Unauthorized(NOT_VERIFIED)
        _verify(params, signature, body, sign_public)
        with database.atomic():
            _spend_nonce(params)
            return view(*args, **kwargs)

    return wrapper


def body_json() -> dict[str, Any]:
    if "body_json" not in g:
        g.body_json = parse_json(g.body)
    return g.body_json

