"""Strict JSON request bodies: size checked before reading, no duplicate keys, no NaN, no surprises."""

import json
from collections.abc import Callable
from typing import Any

from flask import request

from crypto.encoding import b64u_decode
from crypto.errors import BadEncoding
from server.errors import BadRequest, TooLarge, UnsupportedMediaType

MAX_DEPTH = 8
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
MAX_INT = 2**31 - 1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise BadRequest(f"The field {key!r} appears twice.")
        obj[key] = value
    return obj


def _no_constants(name: str) -> Any:
    raise BadRequest("NaN and Infinity are not JSON.")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        raise BadRequest("The JSON is nested too deeply.")
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def read_body(limit: int) -> bytes:
    """The raw body, refusing before reading when the declared or actual size passes `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge()
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge()
    return data


def parse_json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The body is not valid UTF-8 JSON.") from None
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object.")
    _depth(value)
    return value


def json_object(limit: int) -> dict[str, Any]:
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise UnsupportedMediaType()
    return parse_json(read_body(limit))


def exact_fields(body: dict[str, Any], required: set[str], optional: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    missing = required - body.keys()
    if missing:
        raise BadRequest(f"Missing field {sorted(missing)[0]!r}.")
    unknown = body.keys() - required - optional
    if unknown:
        raise BadRequest(f"Unknown field {sorted(unknown)[0]!r}.")


def b64u_field(body: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = body.get(name)
    try:
        return b64u_decode(value, length=length)  # type: ignore[arg-type]
    except BadEncoding:
        size = f" of {length} bytes" if length else ""
        raise BadRequest(f"{name!r} must be unpadded base64url{size}.") from None


def int_field(body: dict[str, Any], name: str, lo: int = 1, hi: int = MAX_INT) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise BadRequest(f"{name!r} must be a whole number from {lo} to {hi}.")
    return value


def str_field(body: dict[str, Any], name: str, max_len: int,
              check: Callable[[str], bool] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= max_len or not plain_text_ok(value):
        raise BadRequest(f"{name!r} must be text of 1 to {max_len} characters.")
    if check is not None and not check(value):
        raise BadRequest(f"{name!r} is not in the expected form.")
    return value


def is_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _ID_CHARS


_FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) not in "\n\t"} | {"\x7f"} | {
    chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
                     0x200E, 0x200F, 0x061C)
}


def plain_text_ok(value: str) -> bool:
    """No NUL, control or bidi-override characters in text the server keeps in the clear."""
    return not (set(value) & _FORBIDDEN)
