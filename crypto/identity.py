"""Organizer identities: an Ed25519 key to sign requests and an X25519 key to receive wrapped secrets."""

from dataclasses import dataclass, field
from importlib import resources

from crypto import _primitives as p

_FINGERPRINT = b"pledgebox/v1/organizer-fingerprint\x00"
SAFETY_WORD_COUNT = 8
SAFETY_DIGITS = 20  # the same 64 bits as the words: 2**64 has 20 decimal digits
WORD_LISTS = {"en": "wordlist.txt", "es": "wordlist_es.txt"}


def _load_words(name: str) -> tuple[str, ...]:
    words = tuple(resources.files("crypto").joinpath(name).read_text("utf-8").split())
    if len(words) != 256 or len(set(words)) != 256:
        raise RuntimeError(f"crypto/{name} must hold 256 distinct words")
    return words


_WORDS = {lang: _load_words(name) for lang, name in WORD_LISTS.items()}


def fingerprint(sign_public: bytes, box_public: bytes) -> str:
    """40 hex characters over both public keys, so neither can be swapped without it showing."""
    return p.blake2b(_FINGERPRINT + sign_public + box_public, size=20).hex()


def safety_words(fingerprint_hex: str, language: str = "en") -> str:
    """Eight words (64 bits) from the fingerprint, in the reader's language (English if unknown):
    an aid to reading aloud. Two organizers who read different languages see different words,
    so what they compare is the safety number, which every language shows alike."""
    raw = bytes.fromhex(fingerprint_hex)
    words = _WORDS.get(language, _WORDS["en"])
    return " ".join(words[b] for b in raw[:SAFETY_WORD_COUNT])


def safety_number(fingerprint_hex: str) -> str:
    """Twenty digits in four groups of five, like Signal's safety numbers: the same 64 bits as the
    safety words (one maps to the other), written the same way whatever anyone's language."""
    value = int.from_bytes(bytes.fromhex(fingerprint_hex)[:SAFETY_WORD_COUNT], "big")
    digits = f"{value:0{SAFETY_DIGITS}d}"
    return " ".join(digits[i:i + 5] for i in range(0, SAFETY_DIGITS, 5))


@dataclass(frozen=True)
class OrganizerIdentity:
    sign_seed: bytes = field(repr=False)
    box_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.sign_seed) != p.SIGN_SEED_BYTES or len(self.box_secret) != p.BOX_KEY_BYTES:
            raise ValueError("identity secrets are 32 bytes each")

    @classmethod
    def generate(cls) -> "OrganizerIdentity":
        return cls(p.random_bytes(32), p.random_bytes(32))

    @property
    def sign_public(self) -> bytes:
        return p.sign_keypair(self.sign_seed)[0]

    @property
    def sign_secret(self) -> bytes:
        return p.sign_keypair(self.sign_seed)[1]

    @property
    def box_public(self) -> bytes:
        return p.box_public(self.box_secret)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.sign_public, self.box_public)
