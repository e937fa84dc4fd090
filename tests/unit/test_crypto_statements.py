"""crypto/statements.py: the signed messages of protocol v1, byte for byte, with their domain prefixes."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey as NaclSigningKey

from crypto.encoding import b64u_decode
from crypto.errors import BadSignature, CryptoError
from crypto.identity import OrganizerIdentity
from crypto.signing import SigningKey
from crypto.statements import (
    announcement_message,
    campaign_message,
    encryption_key_message,
    organizer_message,
    sign_statement,
    verify_statement,
)

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
PYNACL = json.loads((TESTDATA / "pynacl_sealed_vectors.json").read_text("utf-8"))["statements"]
JS = json.loads((TESTDATA / "js_sealed_vectors.json").read_text("utf-8"))["statements"]


def test_encryption_key_message_is_the_protocol_text() -> None:
    public = bytes(range(32))
    assert encryption_key_message("coa_1", 12, "2030-01-31", public) == (
        b"pledgebox/v1/encryption-key\x00coa_1\x0012\x002030-01-31\x00" + public)


def test_campaign_message_is_the_prefix_and_the_bytes_as_they_came() -> None:
    descriptor = b'{"b": 1,  "a":"\\u00e9"}'
    assert campaign_message(descriptor) == b"pledgebox/v1/campaign\x00" + descriptor


def test_announcement_and_organizer_messages_carry_their_own_prefixes() -> None:
    assert announcement_message(b"{}") == b"pledgebox/v1/announcement\x00{}"
    sign_pub, box_pub = b"S" * 32, b"B" * 32
    assert organizer_message("coa_1", "admin", sign_pub, box_pub) == (
        b"pledgebox/v1/organizer\x00coa_1\x00admin\x00" + sign_pub + box_pub)


@pytest.mark.parametrize("vectors", [PYNACL, JS], ids=["pynacl", "browser"])
def test_statement_bytes_match_the_known_answer_vectors(vectors: dict) -> None:
    ek = vectors["encryption_key"]
    assert encryption_key_message(ek["coalition_id"], ek["version"], ek["not_after"],
                                  b64u_decode(ek["public_key"])) == b64u_decode(ek["message"])
    campaign = vectors["campaign"]
    assert campaign_message(b64u_decode(campaign["descriptor"])) == b64u_decode(campaign["message"])


def test_signatures_match_the_pynacl_known_answers() -> None:
    """Ed25519 is deterministic: our signing key from the fixed seed gives the recorded bytes."""
    key = SigningKey(b64u_decode(PYNACL["signing_key_seed"]))
    assert key.public == b64u_decode(PYNACL["signing_key"])
    for name in ("encryption_key", "campaign"):
        message = b64u_decode(PYNACL[name]["message"])
        assert key.sign(message) == b64u_decode(PYNACL[name]["signature"])
        verify_statement(key.public, message, b64u_decode(PYNACL[name]["signature"]))


def test_a_recorded_campaign_response_verifies_end_to_end() -> None:
    response = PYNACL["campaign_response"]
    signing = b64u_decode(response["signing_key"])
    verify_statement(signing, campaign_message(b64u_decode(response["descriptor"])),
                     b64u_decode(response["descriptor_signature"]))
    ek = response["encryption_key"]
    verify_statement(signing, encryption_key_message(response["coalition_id"], ek["version"],
                                                     ek["not_after"], b64u_decode(ek["public_key"])),
                     b64u_decode(ek["signature"]))


@given(st.binary(max_size=500))
def test_sign_then_verify_and_libsodium_agrees(message: bytes) -> None:
    identity = OrganizerIdentity(bytes(32), bytes(32))
    signature = sign_statement(identity.sign_secret, message)
    assert len(signature) == 64
    verify_statement(identity.sign_public, message, signature)
    NaclSigningKey(identity.sign_seed).verify_key.verify(message, signature)


KEY = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(1, 33)))
MESSAGE = campaign_message(b'{"campaign_id":"cmp_1"}')


def test_a_signature_by_another_key_is_refused() -> None:
    with pytest.raises(BadSignature):
        verify_statement(KEY.public, MESSAGE, OTHER.sign(MESSAGE))


def test_a_signature_over_other_bytes_is_refused() -> None:
    with pytest.raises(BadSignature):
        verify_statement(KEY.public, MESSAGE + b" ", KEY.sign(MESSAGE))


def test_domain_separation_stops_a_descriptor_signature_passing_as_an_announcement() -> None:
    body = b'{"campaign_id":"cmp_1"}'
    with pytest.raises(BadSignature):
        verify_statement(KEY.public, announcement_message(body), KEY.sign(campaign_message(body)))


def test_encryption_key_statement_binds_coalition_version_date_and_key() -> None:
    public = bytes(32)
    signature = KEY.sign(encryption_key_message("coa_1", 2, "2030-01-01", public))
    for changed in [("coa_2", 2, "2030-01-01", public), ("coa_1", 3, "2030-01-01", public),
                    ("coa_1", 2, "2031-01-01", public), ("coa_1", 2, "2030-01-01", b"\x01" * 32),
                    # the NUL separators stop "coa_1"+"2" being read as "coa_12"+"":
                    ("coa_12", 2, "2030-01-01", public)]:
        with pytest.raises(BadSignature):
            verify_statement(KEY.public, encryption_key_message(*changed), signature)


@given(st.integers(min_value=0, max_value=64 * 8 - 1))
def test_any_flipped_signature_bit_is_refused(bit: int) -> None:
    signature = bytearray(KEY.sign(MESSAGE))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadSignature):
        verify_statement(KEY.public, MESSAGE, bytes(signature))


@pytest.mark.parametrize(("public", "signature"), [
    (b"", b"\x00" * 64), (b"\x00" * 31, b"\x00" * 64), (b"\x00" * 32, b""),
    (b"\x00" * 32, b"\x00" * 63), (b"\x00" * 32, b"\x00" * 65),
])
def test_malformed_keys_and_signatures_are_refused_not_crashed(public: bytes, signature: bytes) -> None:
    with pytest.raises(BadSignature):
        verify_statement(public, MESSAGE, signature)


def test_an_encryption_public_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        encryption_key_message("coa_1", 1, "2030-01-01", b"\x00" * 31)


def test_bad_signature_is_a_crypto_error() -> None:
    with pytest.raises(CryptoError):
        verify_statement(KEY.public, MESSAGE, OTHER.sign(MESSAGE))
