"""crypto/envelope.py: the pledge envelope of protocol v1 (pad to 1 KiB blocks, sealed box, checks)."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import sodium_pad
from nacl.public import PrivateKey, PublicKey, SealedBox

from crypto import _primitives as p
from crypto.encoding import b64u_decode
from crypto.envelope import (
    BLOCK,
    CIPHERTEXT_LENGTHS,
    MAX_PADDED,
    ciphertext_length_ok,
    open_bytes,
    open_pledge,
    pad,
    seal_bytes,
    seal_pledge,
    unpad,
)
from crypto.errors import BadEnvelope, CryptoError
from crypto.signing import EncryptionKey

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
KEY = EncryptionKey.generate(1)
OTHER = EncryptionKey.generate(1)
CAMPAIGN = "cmp_Envelope-1"


def seal_raw(plaintext: bytes, key: EncryptionKey = KEY) -> bytes:
    """Seal exactly these bytes (padded), as a hostile or buggy client could."""
    return p.seal(key.public, sodium_pad(plaintext, BLOCK))


# ---------- padding ----------

@given(st.binary(max_size=MAX_PADDED - 1))
def test_pad_then_unpad_is_the_identity_and_hides_length_within_a_block(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) % BLOCK == 0
    assert len(padded) == (len(data) // BLOCK + 1) * BLOCK  # always at least one padding byte
    assert padded[len(data)] == 0x80
    assert set(padded[len(data) + 1:]) <= {0}
    assert unpad(padded) == data


@pytest.mark.parametrize(("size", "padded"), [(0, 1024), (1, 1024), (1023, 1024), (1024, 2048),
                                              (8191, 8192)])
def test_pad_block_edges(size: int, padded: int) -> None:
    assert len(pad(b"x" * size)) == padded


@pytest.mark.parametrize("size", [8192, 9000])
def test_pad_refuses_more_than_eight_blocks(size: int) -> None:
    with pytest.raises(BadEnvelope):
        pad(b"x" * size)


@pytest.mark.parametrize("padded", [
    b"",
    b"\x80" + bytes(1022),            # not a whole block
    b"\x80" + bytes(BLOCK * 9 - 1),   # more than eight blocks
    bytes(BLOCK),                     # no 0x80 marker at all
    b"abc\x80" + bytes(BLOCK - 5) + b"\x01",  # a non-zero byte after the marker
    b"x" * BLOCK,                     # no padding
])
def test_unpad_refuses_bad_padding(padded: bytes) -> None:
    with pytest.raises(BadEnvelope):
        unpad(padded)


@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=255))
def test_unpad_never_raises_anything_but_bad_envelope(data: bytes, tail: int) -> None:
    blob = (data + bytes([tail]) * BLOCK)[: max(BLOCK, len(data) // BLOCK * BLOCK)]
    with contextlib.suppress(BadEnvelope):
        unpad(blob)


# ---------- ciphertext lengths ----------

def test_only_the_eight_bucket_lengths_are_valid() -> None:
    assert sorted(CIPHERTEXT_LENGTHS) == [1024 * k + 48 for k in range(1, 9)]
    for n in range(1024 * 9 + 100):
        assert ciphertext_length_ok(n) == (n >= 48 and (n - 48) % 1024 == 0 and 1 <= (n - 48) // 1024 <= 8)


@pytest.mark.parametrize(("size", "length"), [(0, 1072), (1023, 1072), (1024, 2096), (8191, 8240)])
def test_sealed_bytes_fall_into_buckets(size: int, length: int) -> None:
    assert len(seal_bytes(KEY.public, b"y" * size)) == length


def test_each_seal_is_fresh() -> None:
    """Sealed boxes use a new ephemeral key each time: equal pledges do not look equal."""
    answers = {"school": "covina-high"}
    assert seal_pledge(KEY.public, CAMPAIGN, answers) != seal_pledge(KEY.public, CAMPAIGN, answers)


# ---------- round trips ----------

JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=60)
ANSWERS = st.dictionaries(st.text(min_size=1, max_size=20), JSON_SCALARS, max_size=8)


@settings(max_examples=60)
@given(answers=ANSWERS, campaign_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
def test_seal_pledge_then_open_pledge_round_trips(answers: dict, campaign_id: str) -> None:
    ciphertext = seal_pledge(KEY.public, campaign_id, answers)
    assert ciphertext_length_ok(len(ciphertext))
    body = open_pledge(KEY.public, KEY.secret, ciphertext, campaign_id)
    assert body == {"v": 1, "campaign_id": campaign_id, "answers": answers}


@settings(max_examples=40)
@given(st.binary(max_size=MAX_PADDED - 1))
def test_seal_bytes_then_open_bytes_round_trips(data: bytes) -> None:
    assert open_bytes(KEY.public, KEY.secret, seal_bytes(KEY.public, data)) == data


def test_libsodium_sealed_box_opens_our_envelope_and_vice_versa() -> None:
    """Interop with PyNaCl's high-level API, not only our own _primitives."""
    secret = PrivateKey(KEY.secret)
    ours = seal_pledge(KEY.public, CAMPAIGN, {"message": "¡hola!"})
    plain = json.loads(unpad(SealedBox(secret).decrypt(ours)))
    assert plain == {"v": 1, "campaign_id": CAMPAIGN, "answers": {"message": "¡hola!"}}
    theirs = SealedBox(PublicKey(KEY.public)).encrypt(
        sodium_pad(json.dumps({"v": 1, "campaign_id": CAMPAIGN, "answers": {}}).encode(), BLOCK))
    assert open_pledge(KEY.public, KEY.secret, theirs, CAMPAIGN)["answers"] == {}


def test_unknown_extra_keys_from_clients_are_kept_and_ignored() -> None:
    ciphertext = seal_raw(json.dumps({"v": 1, "campaign_id": CAMPAIGN, "answers": {"a": 1},
                                      "client": "other-app/2"}).encode())
    assert open_pledge(KEY.public, KEY.secret, ciphertext, CAMPAIGN)["answers"] == {"a": 1}


# ---------- known answers: ciphertexts made by the browser code and by PyNaCl ----------

JS = json.loads((TESTDATA / "js_sealed_vectors.json").read_text("utf-8"))
PYNACL = json.loads((TESTDATA / "pynacl_sealed_vectors.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", JS["sealed"], ids=lambda v: v["name"])
def test_open_pledge_opens_what_the_browser_sealed(vector: dict) -> None:
    secret = b64u_decode(JS["recipient_secret_key"])
    public = b64u_decode(JS["recipient_public_key"])
    body = open_pledge(public, secret, b64u_decode(vector["ciphertext"]), vector["campaign_id"])
    assert body["answers"] == vector["answers"]
    with pytest.raises(BadEnvelope, match="another campaign"):
        open_pledge(public, secret, b64u_decode(vector["ciphertext"]), vector["campaign_id"] + "x")


@pytest.mark.parametrize("vector", PYNACL["sealed"], ids=lambda v: v["name"])
def test_open_bytes_opens_what_pynacl_sealed(vector: dict) -> None:
    secret = b64u_decode(PYNACL["recipient_secret_key"])
    public = b64u_decode(PYNACL["recipient_public_key"])
    plaintext = open_bytes(public, secret, b64u_decode(vector["ciphertext"]))
    assert plaintext == b64u_decode(vector["plaintext_b64u"])


# ---------- refusals ----------

def test_a_pledge_moved_to_another_campaign_is_refused() -> None:
    """A server must not be able to move pledges between campaigns unnoticed."""
    ciphertext = seal_pledge(KEY.public, "cmp_A", {"school": "x"})
    with pytest.raises(BadEnvelope, match="another campaign"):
        open_pledge(KEY.public, KEY.secret, ciphertext, "cmp_B")
    assert open_pledge(KEY.public, KEY.secret, ciphertext, "cmp_A")["campaign_id"] == "cmp_A"


def test_a_pledge_without_campaign_id_is_refused() -> None:
    ciphertext = seal_raw(json.dumps({"v": 1, "answers": {}}).encode())
    with pytest.raises(BadEnvelope):
        open_pledge(KEY.public, KEY.secret, ciphertext, CAMPAIGN)


def test_the_wrong_key_does_not_open() -> None:
    ciphertext = seal_pledge(KEY.public, CAMPAIGN, {})
    with pytest.raises(BadEnvelope):
        open_pledge(OTHER.public, OTHER.secret, ciphertext, CAMPAIGN)


@given(st.integers(min_value=0, max_value=1072 * 8 - 1))
@settings(max_examples=50)
def test_any_flipped_bit_is_refused(bit: int) -> None:
    ciphertext = bytearray(seal_pledge(KEY.public, CAMPAIGN, {"a": "b"}))
    bit %= len(ciphertext) * 8
    ciphertext[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadEnvelope):
        open_pledge(KEY.public, KEY.secret, bytes(ciphertext), CAMPAIGN)


@pytest.mark.parametrize("cut", [1, 48, 1024])
def test_truncated_ciphertexts_are_refused(cut: int) -> None:
    ciphertext = seal_pledge(KEY.public, CAMPAIGN, {})
    with pytest.raises(BadEnvelope):
        open_pledge(KEY.public, KEY.secret, ciphertext[:-cut], CAMPAIGN)


def test_a_sealed_box_of_a_length_no_client_produces_is_refused() -> None:
    """A valid sealed box of unpadded bytes is still not a pledge."""
    ciphertext = p.seal(KEY.public, b'{"v":1,"campaign_id":"cmp_Envelope-1","answers":{}}')
    with pytest.raises(BadEnvelope, match="length"):
        open_pledge(KEY.public, KEY.secret, ciphertext, CAMPAIGN)


HOSTILE_PLAINTEXTS = [
    b"\xff\xfe not utf-8",
    b"not json",
    b"[1, 2, 3]",
    b'"a string"',
    b'{"v": 1, "campaign_id": "cmp_Envelope-1"}',
    b'{"v": 1, "campaign_id": "cmp_Envelope-1", "answers": []}',
    b'{"v": 1, "campaign_id": "cmp_Envelope-1", "answers": "x"}',
    b'{"v": 2, "campaign_id": "cmp_Envelope-1", "answers": {}}',
    b'{"v": "1", "campaign_id": "cmp_Envelope-1", "answers": {}}',
    b'{"v": 1, "campaign_id": ["cmp_Envelope-1"], "answers": {}}',
    b"[" * 8000,                                     # nesting deeper than the parser's stack
    b'{"v":1,"campaign_id":"cmp_Envelope-1","answers":{"a":' + b"[" * 7000 + b"]" * 7000 + b"}}",
]


@pytest.mark.parametrize("plaintext", HOSTILE_PLAINTEXTS, ids=lambda b: repr(b[:24]))
def test_whatever_is_inside_a_box_that_is_not_a_pledge_is_refused(plaintext: bytes) -> None:
    """Anyone can seal to the public key: hostile plaintexts must be reported, never crash the tool."""
    with pytest.raises(BadEnvelope):
        open_pledge(KEY.public, KEY.secret, seal_raw(plaintext), CAMPAIGN)


def test_bad_envelope_is_a_crypto_error_with_a_sentence() -> None:
    with pytest.raises(CryptoError) as info:
        open_pledge(OTHER.public, OTHER.secret, seal_pledge(KEY.public, CAMPAIGN, {}), CAMPAIGN)
    assert str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfff"', '"\\udc00\\ud800"'])
@pytest.mark.parametrize("where", ["value", "key"])
def test_a_pledge_with_an_unpaired_surrogate_is_refused(text: str, where: str) -> None:
    """Anyone can seal such text; it cannot be written out as UTF-8, so it would break the pages
    and exports that show it. It is refused like any other malformed pledge (counted as unopened)."""
    answers = f'{{"school": {text}}}' if where == "value" else f'{{{text}: "x"}}'
    raw = f'{{"v": 1, "campaign_id": "{CAMPAIGN}", "answers": {answers}}}'.encode()
    with pytest.raises(BadEnvelope, match="surrogate"):
        open_pledge(KEY.public, KEY.secret, seal_raw(raw), CAMPAIGN)


def test_escaped_surrogate_pairs_are_ordinary_text() -> None:
    raw = f'{{"v": 1, "campaign_id": "{CAMPAIGN}", "answers": {{"school": "\\ud83d\\udc4d ok"}}}}'
    body = open_pledge(KEY.public, KEY.secret, seal_raw(raw.encode()), CAMPAIGN)
    assert body["answers"]["school"] == "\N{THUMBS UP SIGN} ok"
