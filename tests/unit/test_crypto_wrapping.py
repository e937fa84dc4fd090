"""crypto/wrapping.py: coalition secrets sealed to one organizer, bound to coalition, kind and version."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import _primitives as p
from crypto.errors import BadEnvelope
from crypto.identity import OrganizerIdentity
from crypto.wrapping import unwrap_secret, wrap_secret

ALICE = OrganizerIdentity(bytes(range(32)), bytes(range(32, 64)))
BOB = OrganizerIdentity(bytes(range(1, 33)), bytes(range(33, 65)))
COALITION = "coa_Wrap-1"


def unwrap(wrapped: bytes, who: OrganizerIdentity = ALICE, coalition: str = COALITION
           ) -> tuple[str, int, bytes]:
    return unwrap_secret(who.box_public, who.box_secret, wrapped, coalition)


@given(kind=st.sampled_from(["signing", "encryption"]), version=st.integers(1, 2**31 - 1),
       secret=st.binary(min_size=32, max_size=32))
def test_wrap_then_unwrap_round_trips(kind: str, version: int, secret: bytes) -> None:
    wrapped = wrap_secret(ALICE.box_public, COALITION, kind, version, secret)
    assert unwrap(wrapped) == (kind, version, secret)


def test_only_the_recipient_can_unwrap() -> None:
    wrapped = wrap_secret(ALICE.box_public, COALITION, "encryption", 1, bytes(32))
    with pytest.raises(BadEnvelope):
        unwrap(wrapped, who=BOB)


def test_a_secret_wrapped_for_another_coalition_is_refused() -> None:
    """The label inside, not the server's row, says what a secret is for."""
    wrapped = wrap_secret(ALICE.box_public, "coa_Other", "signing", 1, bytes(32))
    with pytest.raises(BadEnvelope, match="another coalition"):
        unwrap(wrapped)


def test_unknown_kinds_are_never_wrapped() -> None:
    with pytest.raises(ValueError):
        wrap_secret(ALICE.box_public, COALITION, "password", 1, bytes(32))


def test_a_flipped_bit_is_refused() -> None:
    wrapped = bytearray(wrap_secret(ALICE.box_public, COALITION, "encryption", 1, bytes(32)))
    wrapped[-1] ^= 1
    with pytest.raises(BadEnvelope):
        unwrap(bytes(wrapped))


def _sealed(body: object) -> bytes:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return p.seal(ALICE.box_public, raw)


GOOD = {"coalition_id": COALITION, "kind": "encryption", "version": 1,
        "secret": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}


@pytest.mark.parametrize("body", [
    b"not json", b"\xff", [GOOD], "string", 7,
    {k: v for k, v in GOOD.items() if k != "secret"},
    {**GOOD, "secret": "AAAA"},                       # not 32 bytes
    {**GOOD, "secret": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    {**GOOD, "kind": "password"},
    {**GOOD, "version": "1"},
    {**GOOD, "coalition_id": None},
    b"[" * 5000,                                      # deeper than the JSON parser's stack
], ids=lambda b: repr(b)[:30])
def test_a_hostile_server_cannot_crash_sync_with_odd_wrapped_secrets(body: object) -> None:
    """Anyone who knows an organizer's box key (the server does) can seal anything to it."""
    assert unwrap(_sealed(GOOD)) == ("encryption", 1, bytes(32))
    with pytest.raises(BadEnvelope):
        unwrap(_sealed(body))
