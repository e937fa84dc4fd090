"""Coalition-level key pairs: an Ed25519 signing key and numbered X25519 encryption keys."""

from dataclasses import dataclass, field

from crypto import _primitives as p


@dataclass(frozen=True)
class SigningKey:
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != p.SIGN_SEED_BYTES:
            raise ValueError("a signing seed is 32 bytes")

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(p.random_bytes(p.SIGN_SEED_BYTES))

    @property
    def public(self) -> bytes:
        return p.sign_keypair(self.seed)[0]

    def sign(self, message: bytes) -> bytes:
        return p.sign(p.sign_keypair(self.seed)[1], message)


@dataclass(frozen=True)
class EncryptionKey:
    version: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != p.BOX_KEY_BYTES or self.version < 1:
            raise ValueError("an encryption key is 32 bytes with a version of at least 1")

    @classmethod
    def generate(cls, version: int) -> "EncryptionKey":
        return cls(version, p.random_bytes(p.BOX_KEY_BYTES))

    @property
    def public(self) -> bytes:
        return p.box_public(self.secret)
