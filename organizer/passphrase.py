"""The passphrase rule of `pledgebox init` and the app: one honest estimator, one minimum, one generator.

The keystore is the only thing between a stolen laptop and every key of the coalition, so its
passphrase is what an offline attacker grinds. The keystore's argon2id costs about a second of a laptop
core per guess (256 MiB, t=3); an attacker renting a thousand GPUs might reach 10^5 guesses a second.
MIN_BITS = 50 is then about 360 years for the whole space (half that on average): four random words
from a large list (51.7 bits) pass, a name and a year do not.

The estimate is zxcvbn's (Dropbox's estimator, MIT licence): it charges each dictionary word by its rank
in frequency lists, and finds repeats, sequences (abcd, 1234), keyboard walks (qwerty), dates and years,
and l33t substitutions; short strings are charged as brute force. zxcvbn knows only English, and an
agency that seizes an organizer's laptop tries the movement's slogans, Spanish words, years and the
school's name first (finding 17.5), so we add, as ranked dictionaries: Spanish word frequencies and
names (organizer/wordlists/, licences in LICENSES.md), the movement's chants and words in English and
Spanish (movement.txt, ours), and as "user inputs" this tool's own words, the famous example
passphrases and, where known, the coalition's and campaigns' names and school options. Accents are
charged nothing: the estimate is the lower of the passphrase as typed and without its accents ("jamás"
and "jamas" cost the same). We only read the first 72 characters (zxcvbn's limit), cut back to a word's
end: a longer passphrase is estimated no higher than its start, which under-states, never over-states.

The suggested passphrase is drawn in the page's language: six words of the EFF's long list (English,
77.5 bits) or seven of BIP-0039's Spanish list without its accented words (1714 words, 75.2 bits;
no accents, so no keyboard or Unicode normal form can lock its owner out).
"""

import math
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

from zxcvbn import zxcvbn
from zxcvbn.matching import add_frequency_lists

from organizer.errors import WeakPassphrase

MIN_BITS: float = 50.0
MIN_LENGTH = 12
GENERATED_WORDS = {"en": 6, "es": 7}
_MAX_ESTIMATED = 72  # zxcvbn refuses longer input; see the module docstring for why the prefix is safe
_CONTEXT_WORDS = (
    "pledgebox", "pledge", "pledges", "walkout", "coalition", "organizer", "organiser", "student",
    "students", "school", "campaign", "keystore", "passphrase", "password", "secret",
    "correct horse battery staple", "correcthorsebatterystaple", "tr0ub4dor&3",
    "escuela", "estudiante", "estudiantes", "coalicion", "organizador", "organizadora", "campana",
    "contrasena", "secreto", "high", "high school", "middle school", "prepa", "preparatoria",
)
# Ranked dictionaries added to zxcvbn's own, most frequent first (file in organizer/wordlists/).
_DICTIONARIES = {"movement": "movement.txt", "es_common": "es_common_words.txt",
                 "es_first_names": "es_first_names.txt", "es_last_names": "es_last_names.txt"}
_WORDLISTS = {"en": ("eff_long_wordlist.txt", 7776), "es": ("wordlists/bip39_spanish.txt", 1714)}

__all__ = ["GENERATED_WORDS", "MIN_BITS", "MIN_LENGTH", "WeakPassphrase", "check", "estimate_bits",
           "generate", "generated_bits", "wordlist"]


def _text(name: str) -> str:
    return resources.files("organizer").joinpath(name).read_text(encoding="utf-8")


def unaccented(text: str) -> str:
    """`text` without its combining marks (á → a, ñ → n, ü → u): what a guesser tries as well."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _ranked(lines: Iterable[str]) -> list[str]:
    """Each entry as written, without accents and without spaces, in rank order, once each."""
    seen: dict[str, None] = {}
    for line in lines:
        word = line.strip().lower()
        if word:
            for form in (word, unaccented(word), word.replace(" ", ""), unaccented(word).replace(" ", "")):
                seen.setdefault(form)
    return list(seen)


@cache
def _load_dictionaries() -> None:
    """Add our ranked lists to zxcvbn's (its module keeps them; once per process)."""
    add_frequency_lists({name: _ranked(_text(f"wordlists/{file}").splitlines())
                         for name, file in _DICTIONARIES.items()})


def _user_inputs(context: Sequence[str]) -> list[str]:
    """This tool's words and the coalition's own names: each whole, word by word, and run together."""
    found = list(_CONTEXT_WORDS)
    for name in context:
        found.extend(name.split())
        found.append(name)
    return _ranked(found)


def _zxcvbn_bits(text: str, inputs: list[str]) -> float:
    if len(text) > _MAX_ESTIMATED:  # cut at a word's end: a cut word would be charged as random letters
        head = text[:_MAX_ESTIMATED + 1]
        text = head.rsplit(" ", 1)[0] if " " in head else head[:_MAX_ESTIMATED]
    result = zxcvbn(text, user_inputs=inputs, max_length=_MAX_ESTIMATED)
    return float(result["guesses_log10"]) * math.log2(10)


def estimate_bits(passphrase: str, context: Sequence[str] = ()) -> float:
    """log2 of the guesses an attacker who knows how people choose passphrases would need.

    `context`: names an attacker would try first for this organizer (the coalition's name, its
    campaigns' titles, the schools in their forms)."""
    if not passphrase:
        return 0.0
    _load_dictionaries()
    inputs = _user_inputs(context)
    bits = _zxcvbn_bits(passphrase, inputs)
    plain = unaccented(passphrase)
    return min(bits, _zxcvbn_bits(plain, inputs)) if plain != passphrase else bits


def check(passphrase: str, context: Sequence[str] = (), lang: str = "en") -> None:
    """Refuse a passphrase shorter than MIN_LENGTH or estimated below MIN_BITS; the error suggests one."""
    if len(passphrase) < MIN_LENGTH or estimate_bits(passphrase, context) < MIN_BITS:
        raise WeakPassphrase(suggestion=generate(lang))


@cache
def wordlist(lang: str = "en") -> tuple[str, ...]:
    """The words a suggestion is drawn from: the EFF's long list, or BIP-0039's Spanish words
    without accents (an accented word could be typed in two Unicode forms, or not at all)."""
    file, size = _WORDLISTS["es" if lang == "es" else "en"]
    words = tuple(w for w in _text(file).split() if w.isascii())
    if len(set(words)) != size:
        raise RuntimeError(f"organizer/{file} must give {size} distinct words")
    return words


def generated_bits(lang: str = "en") -> float:
    """The true entropy of generate(lang): uniform draws from its word list (77.5 or 75.2 bits)."""
    key = "es" if lang == "es" else "en"
    return GENERATED_WORDS[key] * math.log2(len(wordlist(key)))


def generate(lang: str = "en") -> str:
    """Words drawn with `secrets` from the language's list, lower-case, space-separated.

    Words a person can type and remember; the estimator rates them far above MIN_BITS, and a draw it
    happens to rate below (about one in a thousand, tests/unit/test_passphrase.py) is drawn again,
    which costs no measurable entropy.
    """
    key = "es" if lang == "es" else "en"
    words = wordlist(key)
    while True:
        candidate = " ".join(secrets.choice(words) for _ in range(GENERATED_WORDS[key]))
        if estimate_bits(candidate) >= MIN_BITS:
            return candidate
