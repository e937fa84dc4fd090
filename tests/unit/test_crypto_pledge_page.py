"""crypto/pledge_page.py: the binary page round-trips, and anything out of shape is refused whole."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import BadEncoding
from crypto.pledge_page import MAGIC, PledgeRow, decode_page, encode_page

IDS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
              min_size=1, max_size=64)
ROWS = st.lists(st.tuples(IDS, st.dates().map(lambda d: d.isoformat()),
                          st.integers(min_value=0, max_value=2**32 - 1), st.binary(max_size=2048)),
                max_size=20)
SAMPLE = [("AAAAAAAAAAAAAAAAAAAAAA", "2026-11-29", 1, b"\x01" * 1072),
          ("BBBBBBBBBBBBBBBBBBBBBB", "2026-11-30", 2, b"")]


@given(ROWS, st.one_of(st.none(), IDS))
def test_every_page_round_trips(rows: list[tuple[str, str, int, bytes]], next_id: str | None) -> None:
    page = decode_page(encode_page(rows, next_id))
    assert page.rows == [PledgeRow(*row) for row in rows]
    assert page.next == next_id


def test_the_layout_is_the_documented_one() -> None:
    data = encode_page(SAMPLE[:1], "CCC")
    assert data[:4] == MAGIC == b"PBP1"
    assert struct.unpack(">I", data[4:8]) == (1,)
    assert data[8:12] == b"\x03CCC"
    assert data[12:35] == b"\x16" + b"A" * 22
    assert data[35:45] == b"2026-11-29"
    assert struct.unpack(">II", data[45:53]) == (1, 1072)
    assert data[53:] == b"\x01" * 1072


def test_every_truncation_is_refused() -> None:
    data = encode_page(SAMPLE, "CCC")
    for cut in range(len(data)):
        with pytest.raises(BadEncoding):
            decode_page(data[:cut])


@pytest.mark.parametrize("damage", [
    lambda d: d + b"\x00",                                # bytes after the last row
    lambda d: b"PBP0" + d[4:],                            # another magic
    lambda d: d[:4] + struct.pack(">I", 3) + d[8:],      # says more rows than it has
    lambda d: d[:4] + struct.pack(">I", 1 << 20) + d[8:],  # more rows than a page may hold
    lambda d: d.replace(b"2026-11-29", b"2026-13-29"),    # an impossible day
    lambda d: d.replace(b"2026-11-29", b"2026-1a-29"),    # not a day at all
    lambda d: d.replace(b"A" * 22, b"A" * 21 + b"/"),     # an id outside the alphabet
    lambda d: d.replace(b"\x16" + b"A" * 22, b"\x00" + b"A" * 22),  # an empty id
    lambda d: d.replace(struct.pack(">II", 1, 1072), struct.pack(">II", 1, 1 << 30)),  # length
], ids=["trailing", "magic", "count", "huge-count", "bad-day", "not-a-day", "bad-id", "empty-id",
        "huge-length"])
def test_damaged_pages_are_refused(damage: object) -> None:
    data = encode_page(SAMPLE, None)
    with pytest.raises(BadEncoding):
        decode_page(damage(data))  # type: ignore[operator]


def test_the_writer_refuses_what_the_reader_would() -> None:
    with pytest.raises(ValueError):
        encode_page([("not/an/id", "2026-11-29", 1, b"")], None)
    with pytest.raises(ValueError):
        encode_page([], "bad id")
