"""Strict JSON request bodies: size checked before reading, no duplicate keys, no NaN, no surprises."""

import json
import math
import re
from collections.abc import Callable
from typing import Any

from flask import request

from crypto.encoding import b64u_decode
from crypto.errors import BadEncoding
from server.errors import BadRequest, TooLarge, UnsupportedMediaType

MAX_DEPTH = 8
MAX_INT = 2**31 - 1
MAX_INT_DIGITS = 18
_SURROGATES = re.compile("[\ud800-\udfff]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise BadRequest(f"The field {key!r} appears twice.")
        obj[key] = value
    return obj


def _no_constants(name: str) -> Any:
    raise BadRequest("NaN and Infinity are not JSON.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf: a number no field accepts
        raise BadRequest("Numbers must be finite.")
    return value


def _small_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequest("Numbers must be at most 18 digits long.")
    return int(text)


def _check_tree(value: Any, level: int = 0) -> None:
    """Nesting depth, and text that is valid Unicode (no lone surrogates) in keys and values."""
    if level > MAX_DEPTH:
        raise BadRequest("The JSON is nested too deeply.")
    if isinstance(value, str):
        if _SURROGATES.search(value):
            raise BadRequest("The JSON holds an unpaired surrogate (\\ud800-\\udfff).")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, level + 1)
            _check_tree(item, level + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, level + 1)


def read_body(limit: int) -> bytes:
    """The raw body, refusing before reading when the declared or actual size passes `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge()
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge()
    return data


def parse_json(data: bytes) -> dict[str, Any]:
    """A JSON object, or BadRequest: duplicate keys, NaN, 1e400, 10^100, lone surrogates, depth."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constants, parse_float=_finite_float,
                           parse_int=_small_int)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The body is not valid UTF-8 JSON.") from None
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object.")
    _check_tree(value)
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
    """A whole number in range. JSON has one number type, so 2.0 is 2 (as JSON Schema says)."""
    value = body.get(name)
    if isinstance(value, float) and value.is_integer() and lo <= value <= hi:
        value = int(value)
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


# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates and marks,
# line/paragraph separators, and lone surrogates (not storable as UTF-8 at all).
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
    "\ud800-\udfff]")


def plain_text_ok(value: str) -> bool:
    """No NUL, control or bidi-control characters in text the server keeps in the clear.

    Bidi controls can make a coalition name or a campaign title read differently from what is
    stored (Trojan Source); NUL truncates text in C libraries and is refused by PostgreSQL.
    """
    return _FORBIDDEN.search(value) is None
