"""The OpenAPI 3.1 document, generated from the app's routes and the schemas declared on views.

Every rule under /api/ in `app.url_map` is listed, whether or not its view declares anything, with
the protocol's error shape for every error. A view adds its summary, body and success responses
with `@describe(...)` placed under its route decorator:

    @bp.post("/invites")
    @describe("Invite an organizer", body=obj({"locator_hash": b64u(32), "role": ROLE}),
              ok={201: obj({"invite_id": ID})}, errors=(400, 403, 409))
    @signed(role="admin")
    def create_invite(): ...

Paths under /api/v1/org/ are marked as needing a request signature (and answer 401 without one).
Served at /api/openapi.json; there is no UI here (no CDN-hosted page, by design).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify
from werkzeug.routing import Rule

from crypto.ids import ID_PATTERN

Schema = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

ERROR_NAMES = {
    400: "Malformed request", 401: "Not signed by a known organizer", 403: "Not allowed",
    404: "Not found", 405: "Method not allowed", 409: "Conflict", 410: "Gone", 413: "Too large",
    415: "Not JSON", 429: "Rate limited", 500: "Server error", 503: "Unavailable",
}
# Every operation can answer these: routing, body limits, rate limits, a database outage.
COMMON_ERRORS = (404, 405, 413, 429, 500, 503)
SIGNED_PREFIX = "/api/v1/org/"
ATTRIBUTE = "pledgebox_openapi"


# --- schema helpers: short names for the shapes the protocol uses --------------------------------

_B64 = "[A-Za-z0-9_-]"
# The last character of canonical unpadded base64url carries no stray bits.
_TAIL = {0: "", 1: _B64 + "[AQgw]", 2: _B64 + "{2}[AEIMQUYcgkosw048]"}


def _b64u_pattern(size: int) -> str:
    return f"{_B64}{{{4 * (size // 3)}}}{_TAIL[size % 3]}"


def b64u(size: int | None = None, sizes: tuple[int, ...] = (), min_size: int = 0,
         max_size: int | None = None) -> Schema:
    """Canonical unpadded base64url: of `size` bytes, of one of `sizes`, or min_size..max_size."""
    schema: Schema = {"type": "string", "contentEncoding": "base64url"}
    if size is not None:
        sizes = (size,)
    if sizes:
        schema["pattern"] = "^(?:" + "|".join(_b64u_pattern(n) for n in sizes) + ")$"
        schema["minLength"], schema["maxLength"] = _chars(min(sizes)), _chars(max(sizes))
        return schema
    schema["pattern"] = f"^(?:{_B64}{{4}})*(?:{_B64}[AQgw]|{_B64}{{2}}[AEIMQUYcgkosw048])?$"
    if min_size:
        schema["minLength"] = _chars(min_size)
    if max_size is not None:
        schema["maxLength"] = _chars(max_size)
    return schema


def _chars(n: int) -> int:
    return (4 * n + 2) // 3


def obj(properties: Schema, optional: tuple[str, ...] = ()) -> Schema:
    """A JSON object with exactly these fields (all required unless named in `optional`)."""
    return {"type": "object", "properties": properties,
            "required": [k for k in properties if k not in optional],
            "additionalProperties": False}


def array(items: Schema, max_items: int | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


ID: Schema = {"type": "string", "pattern": f"^{ID_PATTERN}$"}
DATE: Schema = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
VERSION: Schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def TEXT(n: int) -> Schema:  # a constant-like helper, named like ID and DATE
    return {"type": "string", "minLength": 1, "maxLength": n}


ERROR: Schema = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "message": {"type": "string", "minLength": 1}}}},
}
ENCRYPTION_KEY = obj({"version": VERSION, "not_after": DATE, "public_key": b64u(32),
                      "signature": b64u(64)})


# --- declarations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    summary: str = ""
    body: Schema | None = None
    ok: dict[int, Schema | None] = field(default_factory=dict)  # None: no body (204)
    errors: tuple[int, ...] = (400,)
    query: dict[str, Schema] = field(default_factory=dict)
    # Extra properties a given error status carries besides code and message (409 stale_key).
    error_extra: dict[int, Schema] = field(default_factory=dict)
    # Media types a success may come in besides JSON (a binary pledge page), by status.
    ok_media: dict[int, dict[str, Schema]] = field(default_factory=dict)


UNDECLARED = Operation(summary="(no schema declared yet)", ok={},
                       errors=(400, 401, 403, 409, 410, 415))


def describe(summary: str, *, body: Schema | None = None, ok: dict[int, Schema | None] | None = None,
             errors: tuple[int, ...] = (400,), query: dict[str, Schema] | None = None,
             error_extra: dict[int, Schema] | None = None,
             ok_media: dict[int, dict[str, Schema]] | None = None) -> Callable[[F], F]:
    """Declare a view's summary, JSON body and responses for the generated OpenAPI document."""
    op = Operation(summary, body, ok or {200: {}}, errors, query or {}, error_extra or {},
                   ok_media or {})

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, op)  # functools.wraps carries it up through @signed & co.
        return view

    return mark


# --- generation ----------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _path_and_params(rule: Rule) -> tuple[str, list[Schema]]:
    params: list[Schema] = []

    def repl(m: re.Match[str]) -> str:
        converter, name = m.group(1) or "default", m.group(2)
        schema = {"type": "integer"} if converter == "int" else dict(ID)
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(repl, rule.rule), params


def _error_response(status: int, extra: Schema | None) -> Schema:
    schema = ERROR
    if extra:
        inner = ERROR["properties"]["error"]
        schema = {**ERROR, "properties": {"error": {
            **inner, "properties": {**inner["properties"], **extra}}}}
    response: Schema = {"description": ERROR_NAMES.get(status, "Error"),
                        "content": {"application/json": {"schema": schema}}}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {
            "required": True, "description": "Seconds to wait before trying again",
            "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    return response


def _operation(rule: Rule, method: str, op: Operation, path_params: list[Schema]) -> Schema:
    signed = rule.rule.startswith(SIGNED_PREFIX)
    responses: Schema = {}
    if op.ok:
        for status, schema in sorted(op.ok.items()):
            responses[str(status)] = {"description": "Success"} if schema is None else {
                "description": "Success", "content": {
                    "application/json": {"schema": schema},
                    **{media: {"schema": s} for media, s in op.ok_media.get(status, {}).items()}}}
    else:
        responses["2XX"] = {"description": "Success (not declared yet)",
                            "content": {"application/json": {"schema": {}}}}
    statuses = set(op.errors) | set(COMMON_ERRORS) | ({401, 403} if signed else set())
    if op.body is not None:
        statuses |= {400, 415}
    for status in sorted(statuses):
        responses[str(status)] = _error_response(status, op.error_extra.get(status))
    out: Schema = {"operationId": f"{rule.endpoint}.{method.lower()}",
                   "summary": op.summary or rule.endpoint, "responses": responses}
    params = path_params + [{"name": k, "in": "query", "required": False, "schema": v}
                            for k, v in op.query.items()]
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": op.body}}}
    if signed:
        out["security"] = [{"RequestSignature": []}]
    return out


def build_document(app: Flask) -> Schema:
    paths: dict[str, Schema] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        op: Operation = getattr(view, ATTRIBUTE, UNDECLARED)
        path, params = _path_and_params(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, op, params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pledgebox API", "version": "1",
                 "description": "Public protocol v1 (docs/protocol.md) and the organizers' signed "
                                "API. Generated from the server's routes."},
        "paths": paths,
        "components": {"securitySchemes": {"RequestSignature": {
            "type": "apiKey", "in": "header", "name": "Signature",
            "description": "RFC 9421 HTTP Message Signature by an organizer's Ed25519 key, with "
                           "Signature-Input and Content-Digest headers (docs/protocol.md)."}}},
    }


bp = Blueprint("openapi", __name__)


@bp.get("/api/openapi.json")
@describe("This document", ok={200: {"type": "object", "required": ["openapi", "paths"]}},
          errors=())
def openapi_json() -> Response:
    document = current_app.extensions.get(ATTRIBUTE)
    if document is None:
        document = current_app.extensions[ATTRIBUTE] = build_document(current_app)
    return jsonify(document)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
