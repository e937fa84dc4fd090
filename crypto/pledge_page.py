"""The binary form of one page of a campaign's sealed pledges (organizers' API, `format=binary`).

Why a second form: in JSON every 1.1 KB ciphertext travels as 1.5 KB of base64url that the
server encodes and the organizer's tool decodes, and that framing cost a roster about a third
more than opening the pledges did (bench/bench_roster.py). Here ciphertexts travel as they are.

    magic      4 bytes   b"PBP1"
    count      u32       rows in this page (big-endian, as every integer here)
    next       u8 n, then n ASCII bytes: the id to ask for after this page (n = 0: last page)
    count rows, each:
      id       u8 n, then n ASCII bytes (an id: base64url alphabet, 1 to 64 characters)
      day      10 ASCII bytes, YYYY-MM-DD (the day the server received it, UTC)
      version  u32       the encryption key version it is sealed to
      length   u32, then that many bytes of ciphertext

The reader is strict, since the server is not trusted: anything out of bounds, a bad id or day,
or a byte left over after the last row is refused as a whole (`BadEncoding`). Ciphertexts are
not judged here; opening them is the envelope's job.
"""

import re
import struct
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from crypto.errors import BadEncoding
from crypto.ids import ID_PATTERN

MAGIC = b"PBP1"
MEDIA_TYPE = "application/vnd.pledgebox.pledge-page"
MAX_ROWS = 65_536
MAX_CIPHERTEXT = 1 << 20
_ID = re.compile(ID_PATTERN.encode())
_DAY = re.compile(rb"\d{4}-\d{2}-\d{2}")
_HEAD = struct.Struct(">4sI")
_ROW_TAIL = struct.Struct(">10sII")


class PledgeRow(NamedTuple):  # a tuple: built a hundred thousand times per roster, cheaply
    pledge_id: str
    received_day: str
    key_version: int
    ciphertext: bytes


@dataclass(frozen=True)
class PledgePage:
    rows: list[PledgeRow]
    next: str | None


def _id_bytes(value: str) -> bytes:
    raw = value.encode("ascii")
    if not _ID.fullmatch(raw):
        raise ValueError(f"not an id: {value!r}")
    return raw


def encode_page(rows: list[tuple[str, str, int, bytes]], next_id: str | None) -> bytes:
    """(pledge_id, received_day ISO, key_version, ciphertext) rows and the next id, framed."""
    if len(rows) > MAX_ROWS:
        raise ValueError("too many rows for one page")
    nxt = _id_bytes(next_id) if next_id else b""
    parts = [_HEAD.pack(MAGIC, len(rows)), bytes([len(nxt)]), nxt]
    for pledge_id, day, version, ciphertext in rows:
        raw_id = _id_bytes(pledge_id)
        parts += [bytes([len(raw_id)]), raw_id,
                  _ROW_TAIL.pack(day.encode("ascii"), version, len(ciphertext)), ciphertext]
    return b"".join(parts)


def decode_page(data: bytes) -> PledgePage:
    """Parse one page; refuse it whole if any of it is out of shape."""
    data = bytes(data)
    days: set[bytes] = set()  # a page's rows share a few days: each is checked once
    try:
        magic, count = _HEAD.unpack_from(data, 0)
        if magic != MAGIC:
            raise BadEncoding("not a Pledgebox pledge page")
        if count > MAX_ROWS:
            raise BadEncoding("a pledge page with too many rows")
        next_id, at = _read_id(data, _HEAD.size, allow_empty=True)
        rows = []
        for _ in range(count):
            pledge_id, at = _read_id(data, at, allow_empty=False)
            day, version, length = _ROW_TAIL.unpack_from(data, at)
            at += _ROW_TAIL.size
            if day not in days:
                _check_day(day)
                days.add(day)
            if length > MAX_CIPHERTEXT or at + length > len(data):
                raise BadEncoding("a pledge page row is out of shape")
            rows.append(PledgeRow(pledge_id, day.decode("ascii"), version, data[at:at + length]))
            at += length
    except struct.error as exc:
        raise BadEncoding("a pledge page that ends too early") from exc
    if at != len(data):
        raise BadEncoding("a pledge page with bytes after its last row")
    return PledgePage(rows, next_id or None)


def _read_id(data: bytes, at: int, *, allow_empty: bool) -> tuple[str, int]:
    if at >= len(data):
        raise BadEncoding("a pledge page that ends too early")
    n = data[at]
    raw = data[at + 1:at + 1 + n]
    if len(raw) != n:
        raise BadEncoding("a pledge page that ends too early")
    if not (n == 0 and allow_empty) and not _ID.fullmatch(raw):
        raise BadEncoding("a pledge page with a malformed id")
    return raw.decode("ascii"), at + 1 + n


def _check_day(raw: bytes) -> None:
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        date.fromisoformat(raw.decode("ascii"))
    except ValueError as exc:
        raise BadEncoding("a pledge page with an impossible day") from exc
