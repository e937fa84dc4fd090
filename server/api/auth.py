"""Organizers' requests are authenticated by RFC 9421 signatures from their own Ed25519 keys.

No passwords and no cookies: each request is signed over method, path, query and body digest,
with a timestamp window and a single-use nonce. A refused request changes nothing stored.
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
MAX_BODY = 8 * 1024 * 1024


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


def _verify(params: SignatureParams, signature: bytes, body: bytes, sign_public: bytes) -> None:
    base = signature_base(request.method, request.path, request.query_string.decode("latin-1"),
                          content_digest(body), params)
    try:
        verify_request(sign_public, base, signature)
    except BadSignature:
        raise Unauthorized("The request's signature does not verify.") from None


def _spend_nonce(params: SignatureParams) -> None:
    nonce_hash = primitives.blake2b(f"{params.keyid}\x00{params.nonce}".encode())
    try:
        with database.atomic():
            RequestNonce.insert(nonce_hash=nonce_hash,
                                expires_at=params.created + 2 * WINDOW_SECONDS).execute()
    except IntegrityError:
        raise Unauthorized("This request was already received once (a replay).") from None


def signed(role: str | None = None, allow_pending: bool = False) -> Callable[..., Any]:
    """Require a request signed by a registered organizer (of `role`, if given)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            params, signature, body = _params_and_body()
            organizer = Organizer.get_or_none(Organizer.id == params.keyid)
            if organizer is None:
                raise Unauthorized()
            _verify(params, signature, body, bytes(organizer.sign_public))
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
            raise Unauthorized("The keyid must be the fingerprint of the keys in the body.")
        _verify(params, signature, body, sign_public)
        with database.atomic():
            _spend_nonce(params)
            return view(*args, **kwargs)

    return wrapper


def body_json() -> dict[str, Any]:
    if "body_json" not in g:
        g.body_json = parse_json(g.body)
    return g.body_json

