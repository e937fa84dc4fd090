"""crypto/identity.py: organizer identities, fingerprints and the safety words read aloud on a call."""

import hashlib
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey as NaclSigningKey

from crypto.identity import (
    SAFETY_DIGITS,
    SAFETY_WORD_COUNT,
    OrganizerIdentity,
    fingerprint,
    safety_number,
    safety_words,
)

SIGN_SEED, BOX_SECRET = bytes(range(32)), bytes(range(32, 64))
WORDS = resources.files("crypto").joinpath("wordlist.txt").read_text().split()


def test_fingerprint_is_blake2b_160_over_both_public_keys_with_a_prefix() -> None:
    """Recomputed here from libsodium keys and hashlib, not through crypto/."""
    sign_public = bytes(NaclSigningKey(SIGN_SEED).verify_key)
    box_public = bytes(PrivateKey(BOX_SECRET).public_key)
    expected = hashlib.blake2b(b"pledgebox/v1/organizer-fingerprint\x00" + sign_public + box_public,
                               digest_size=20).hexdigest()
    identity = OrganizerIdentity(SIGN_SEED, BOX_SECRET)
    assert identity.sign_public == sign_public
    assert identity.box_public == box_public
    assert identity.fingerprint == fingerprint(sign_public, box_public) == expected
    assert len(expected) == 40


def test_known_answer_fingerprint_and_safety_words() -> None:
    """Pinned: organizers on different versions of the tool must read out the same words."""
    fp = OrganizerIdentity(SIGN_SEED, BOX_SECRET).fingerprint
    assert fp == "93746c155dc694dda99360dff67f35e036b96cb1"
    assert safety_words(fp) == "jacket forest falcon barn diamond parrot jaguar robin"
    assert safety_words("00" * 20) == " ".join(["acorn"] * 8)
    assert safety_words("ff" * 20) == " ".join(["violin"] * 8)


def test_the_wordlist_has_256_distinct_easy_words() -> None:
    assert len(WORDS) == 256
    assert len(set(WORDS)) == 256
    assert all(w.isascii() and w.isalpha() and w.islower() for w in WORDS)


@given(st.binary(min_size=20, max_size=20))
def test_safety_words_are_eight_words_one_per_fingerprint_byte(raw: bytes) -> None:
    words = safety_words(raw.hex()).split(" ")
    assert len(words) == SAFETY_WORD_COUNT
    assert words == [WORDS[b] for b in raw[:8]]


def test_swapping_either_key_changes_the_fingerprint() -> None:
    a = OrganizerIdentity(SIGN_SEED, BOX_SECRET)
    b = OrganizerIdentity(SIGN_SEED, bytes(32))
    c = OrganizerIdentity(bytes(32), BOX_SECRET)
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3
    # the keys are not simply concatenated: swapping their order changes it too
    assert fingerprint(a.sign_public, a.box_public) != fingerprint(a.box_public, a.sign_public)


def test_generated_identities_are_distinct() -> None:
    assert OrganizerIdentity.generate().fingerprint != OrganizerIdentity.generate().fingerprint


@pytest.mark.parametrize(("seed", "box"), [(bytes(31), bytes(32)), (bytes(32), bytes(33)), (b"", b"")])
def test_identity_secrets_must_be_32_bytes(seed: bytes, box: bytes) -> None:
    with pytest.raises(ValueError):
        OrganizerIdentity(seed, box)


def test_secrets_never_appear_in_repr() -> None:
    text = repr(OrganizerIdentity(SIGN_SEED, BOX_SECRET))
    assert repr(SIGN_SEED) not in text
    assert repr(BOX_SECRET) not in text


WORDS_ES = resources.files("crypto").joinpath("wordlist_es.txt").read_text("utf-8").split()


def test_known_answer_safety_number_and_spanish_words() -> None:
    """Pinned like the words: the number is the same in every language, so an English and a
    Spanish reader compare the same digits; the words are an aid in each one's language."""
    fp = OrganizerIdentity(SIGN_SEED, BOX_SECRET).fingerprint
    assert safety_number(fp) == "10625 23625 98972 51037"  # int(fp[:16], 16), 20 digits
    assert safety_number("00" * 20) == "00000 00000 00000 00000"
    assert safety_number("ff" * 20) == "18446 74407 37095 51615"
    assert safety_words(fp, "es") == "joya fresa espejo arroz copa panda juego ratón"
    assert safety_words(fp, "xx") == safety_words(fp)  # a language without a list: English


def test_the_spanish_wordlist_has_256_distinct_words() -> None:
    assert len(WORDS_ES) == 256
    assert len(set(WORDS_ES)) == 256
    assert all(w.isalpha() and w.islower() for w in WORDS_ES)


@given(st.binary(min_size=20, max_size=20))
def test_the_number_and_the_words_carry_the_same_64_bits(raw: bytes) -> None:
    """Comparing either is as strong as comparing the other: each determines the first 8 bytes."""
    digits = safety_number(raw.hex()).replace(" ", "")
    assert len(digits) == SAFETY_DIGITS
    assert int(digits).to_bytes(8, "big") == raw[:8]
    assert [WORDS_ES.index(w) for w in safety_words(raw.hex(), "es").split(" ")] == list(raw[:8])
