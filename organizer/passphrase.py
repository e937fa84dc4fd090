"""The passphrase rule of `pledgebox init` and the app: one honest estimator, one minimum, one generator.

The keystore is the only thing between a stolen laptop and every key of the coalition, so its
passphrase is what an offline attacker grinds. The keystore's argon2id costs about a second of a laptop
core per guess (256 MiB, t=3); an attacker renting a thousand GPUs might reach 10^5 guesses a second.
MIN_BITS = 50 is then about 360 years for the whole space (half that on average): four random words
from a large list (51.7 bits) pass, a name and a year do not.

The estimate is zxcvbn's (Dropbox's estimator, MIT licence): it charges each dictionary word by its rank
in frequency lists, and finds repeats, sequences (abcd, 1234), keyboard walks (qwerty), dates and years,
and l33t substitutions; short strings are charged as brute force. We add the words of this very tool
and the famous example passphrases as "user inputs", so "pledgebox walkout 2026" is cheap, and we only
read the first 72 characters (zxcvbn's limit), cut back to a word's end: a longer passphrase is
estimated no higher than its start, which under-states, never over-states.
"""

import math
import secrets
from functools import cache
from importlib import resources

from zxcvbn import zxcvbn

from organizer.errors import WeakPassphrase

MIN_BITS: float = 50.0
MIN_LENGTH = 12
GENERATED_WORDS = 6
_MAX_ESTIMATED = 72  # zxcvbn refuses longer input; see the module docstring for why the prefix is safe
_CONTEXT_WORDS = (
    "pledgebox", "pledge", "pledges", "walkout", "coalition", "organizer", "organiser", "student",
    "students", "school", "campaign", "keystore", "passphrase", "password", "secret",
    "correct horse battery staple", "correcthorsebatterystaple", "tr0ub4dor&3",
)

__all__ = ["GENERATED_WORDS", "MIN_BITS", "MIN_LENGTH", "WeakPassphrase", "check", "estimate_bits",
           "generate", "generated_bits"]


def estimate_bits(passphrase: str) -> float:
    """log2 of the guesses an attacker who knows how people choose passphrases would need."""
    if not passphrase:
        return 0.0
    text = passphrase
    if len(text) > _MAX_ESTIMATED:  # cut at a word's end: a cut word would be charged as random letters
        head = text[:_MAX_ESTIMATED + 1]
        text = head.rsplit(" ", 1)[0] if " " in head else head[:_MAX_ESTIMATED]
    result = zxcvbn(text, user_inputs=list(_CONTEXT_WORDS), max_length=_MAX_ESTIMATED)
    return float(result["guesses_log10"]) * math.log2(10)


def check(passphrase: str) -> None:
    """Refuse a passphrase shorter than MIN_LENGTH or estimated below MIN_BITS; the error suggests one."""
    if len(passphrase) < MIN_LENGTH or estimate_bits(passphrase) < MIN_BITS:
        raise WeakPassphrase(suggestion=generate())


@cache
def _words() -> tuple[str, ...]:
    text = resources.files("organizer").joinpath("eff_long_wordlist.txt").read_text(encoding="utf-8")
    words = tuple(text.split())
    if len(set(words)) != 7776:
        raise RuntimeError("organizer/eff_long_wordlist.txt must hold the EFF's 7776 distinct words")
    return words


def generated_bits() -> float:
    """The true entropy of generate(): GENERATED_WORDS uniform draws from 7776 words, 77.5 bits."""
    return GENERATED_WORDS * math.log2(len(_words()))


def generate() -> str:
    """Six words drawn with `secrets` from the EFF's long list (77.5 bits), lower-case, space-separated.

    Words a person can type and remember; the estimator usually rates them far above MIN_BITS, and a
    draw it happens to rate below (vanishingly rare) is drawn again, which costs no measurable entropy.
    """
    words = _words()
    while True:
        candidate = " ".join(secrets.choice(words) for _ in range(GENERATED_WORDS))
        if estimate_bits(candidate) >= MIN_BITS:
            return candidate
