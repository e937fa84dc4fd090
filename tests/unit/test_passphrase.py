"""organizer/passphrase.py: the one passphrase rule (estimate, minimum, suggestion) of init and the app."""

import math
from pathlib import Path

import pytest

from organizer import passphrase
from organizer.errors import BadInput, WeakPassphrase
from organizer.session import Session

WEAK = [
    "abc",                                    # short
    "password1234567890",                     # a common word and a sequence
    "qwertyuiopasdfghjkl",                    # a keyboard walk
    "abcdefghijklmnopqrs",                    # an alphabet run
    "aaaaaaaaaaaaaaaaaaaaaaaa",               # a repeat
    "walkoutwalkoutwalkout",                  # a repeated word
    "Summer2024!Summer2024!",                 # a word, a year, repeated
    "pledgebox walkout 2026",                 # this tool's own words and a year
    "correct horse battery staple",           # the most famous example passphrase
    "maria garcia 2009",                      # a name and a birth year
]
STRONG = ["quartz lantern ripple gazebo mantis", "tidy cobweb sulfur plaything dynamite",
          "ümlaut größe straße käse brötchen"]


@pytest.mark.parametrize("weak", WEAK)
def test_guessable_passphrases_are_refused(weak: str) -> None:
    assert passphrase.estimate_bits(weak) < passphrase.MIN_BITS
    with pytest.raises(WeakPassphrase):
        passphrase.check(weak)


@pytest.mark.parametrize("strong", STRONG)
def test_random_words_pass(strong: str) -> None:
    assert passphrase.estimate_bits(strong) >= passphrase.MIN_BITS
    passphrase.check(strong)


def test_a_short_string_is_refused_whatever_it_holds() -> None:
    with pytest.raises(WeakPassphrase):
        passphrase.check("kT9#pq2!Lm4")  # 11 random characters


def test_the_estimate_never_grows_past_what_zxcvbn_can_read() -> None:
    repeated = "correct horse battery staple " * 10
    assert passphrase.estimate_bits(repeated) < passphrase.MIN_BITS
    assert passphrase.estimate_bits("") == 0.0


def test_generated_passphrases_have_six_typeable_words_and_77_bits() -> None:
    assert passphrase.generated_bits() == pytest.approx(6 * math.log2(7776))
    assert passphrase.generated_bits() >= 70
    seen = {passphrase.generate() for _ in range(50)}
    assert len(seen) == 50
    for phrase in seen:
        words = phrase.split(" ")
        assert len(words) == 6
        assert all(w.replace("-", "").isascii() and w.replace("-", "").isalpha() for w in words)
        passphrase.check(phrase)


def test_the_error_is_one_sentence_with_a_suggestion_that_passes() -> None:
    with pytest.raises(WeakPassphrase) as info:
        passphrase.check("abc")
    assert isinstance(info.value, BadInput)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("That passphrase is too easy to guess")
    passphrase.check(info.value.suggestion)
    assert info.value.suggestion in text


def test_session_create_refuses_a_weak_passphrase_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keystore.json"
    with pytest.raises(WeakPassphrase):
        Session.create(path, "abc")
    assert not path.exists()
    Session.create(path, STRONG[0])
    assert path.exists()
