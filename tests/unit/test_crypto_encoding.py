"""crypto/encoding.py: one canonical base64url text per value, so nothing on the wire is malleable."""

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import BadEncoding, CryptoError

# RFC 4648 section 10 test vectors, in the URL-safe alphabet without padding.
RFC4648 = [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"),
           (b"fooba", "Zm9vYmE"), (b"foobar", "Zm9vYmFy")]


@pytest.mark.parametrize(("raw", "text"), RFC4648)
def test_rfc4648_vectors_round_trip(raw: bytes, text: str) -> None:
    assert b64u_encode(raw) == text
    assert b64u_decode(text) == raw


def test_uses_the_url_safe_alphabet() -> None:
    assert b64u_encode(b"\xfb\xff\xbf") == "-_-_"
    assert b64u_decode("-_-_") == b"\xfb\xff\xbf"


@given(st.binary(max_size=300))
def test_every_byte_string_round_trips_without_padding(data: bytes) -> None:
    text = b64u_encode(data)
    assert "=" not in text
    assert "+" not in text
    assert "/" not in text
    assert b64u_decode(text) == data


@pytest.mark.parametrize("text", [
    "Zg==",        # padding is not part of the encoding
    "Zm8=",
    "Zg=",
    "Z",           # a length no byte string has
    "Zm9vY",
    "+/+/",        # the standard alphabet, not the URL-safe one
    "Zm 9v",       # whitespace
    "Zm9v\n",      # trailing newline (a lenient decoder would accept it)
    " Zm9v",
    "Zm9vÀ",       # non-ASCII
    "Zh",          # stray bits in the last character: 'Zg' is the canonical text of b"f"
    "Zm9",         # same for two bytes: 'Zm8'
])
def test_refuses_every_non_canonical_text(text: str) -> None:
    with pytest.raises(BadEncoding):
        b64u_decode(text)


@given(st.binary(min_size=1, max_size=64))
def test_no_second_text_decodes_to_the_same_bytes(data: bytes) -> None:
    """Flipping the unused low bits of the last character must be refused, not silently dropped."""
    text = b64u_encode(data)
    if len(data) % 3 == 0:
        return  # no unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(text[-1])
    unused = 0b1111 if len(data) % 3 == 1 else 0b11
    for bits in range(1, unused + 1):
        other = text[:-1] + alphabet[last | bits]
        with pytest.raises(BadEncoding):
            b64u_decode(other)


@pytest.mark.parametrize("value", [None, b"Zm9v", 42, ["Zm9v"]])
def test_refuses_values_that_are_not_text(value: object) -> None:
    with pytest.raises(BadEncoding):
        b64u_decode(value)  # type: ignore[arg-type]


def test_length_is_checked_when_asked_for() -> None:
    text = b64u_encode(bytes(32))
    assert b64u_decode(text, length=32) == bytes(32)
    with pytest.raises(BadEncoding, match="expected 31 bytes, got 32"):
        b64u_decode(text, length=31)
    with pytest.raises(BadEncoding):
        b64u_decode(b64u_encode(bytes(33)), length=32)


def test_errors_are_crypto_errors_with_a_sentence() -> None:
    with pytest.raises(CryptoError) as info:
        b64u_decode("Zg==")
    assert str(info.value)
    assert "\n" not in str(info.value)


def test_agrees_with_the_standard_library_on_canonical_input() -> None:
    data = bytes(range(256))
    expected = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64u_encode(data) == expected


def _reference_decode(text: str) -> bytes | None:
    """The slow, obviously strict definition: decodes, and encoding it back gives the same text."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return data if b64u_encode(data) == text else None


@given(st.text(alphabet=st.sampled_from(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n\x00é"),
    max_size=24))
@settings(max_examples=1000)
def test_accepts_exactly_what_the_reference_definition_accepts(text: str) -> None:
    expected = _reference_decode(text)
    if expected is None:
        with pytest.raises(BadEncoding):
            b64u_decode(text)
    else:
        assert b64u_decode(text) == expected
