"""Organizer identities: an Ed25519 key to sign requests and an X25519 key to receive wrapped secrets."""

from dataclasses import dataclass, field
from importlib import resources

from crypto import _primitives as p

_FINGERPRINT = b"pledgebox/v1/organizer-fingerprint\x00"
SAFETY_WORD_COUNT = 8


def _load_words() -> tuple[str, ...]:
    words = tuple(resources.files("crypto").joinpath("wordlist.txt").read_text().split())
    if len(words) != 256 or len(set(words)) != 256:
        raise RuntimeError("crypto/wordlist.txt must hold 256 distinct words")
    return words


_WORDS = _load_words()


def fingerprint(sign_public: bytes, box_public: bytes) -> str:
    """40 hex characters over both public keys, so neither can be swapped without it showing."""
    return p.blake2b(_FINGERPRINT + sign_public + box_public, size=20).hex()


def safety_words(fingerprint_hex: str) -> str:
    """Eight words (64 bits) from the fingerprint: easy to read aloud and compare on a call."""
    raw = bytes.fromhex(fingerprint_hex)
    return " ".join(_WORDS[b] for b in raw[:SAFETY_WORD_COUNT])


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
