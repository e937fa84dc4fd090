"""crypto/signing.py: the coalition's Ed25519 signing key and numbered X25519 encryption keys."""

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey as NaclSigningKey

from crypto.signing import EncryptionKey, SigningKey


def test_signing_key_derives_the_libsodium_public_key_and_signature() -> None:
    seed = bytes(range(32))
    ours, theirs = SigningKey(seed), NaclSigningKey(seed)
    assert ours.public == bytes(theirs.verify_key)
    assert ours.sign(b"hello") == theirs.sign(b"hello").signature


def test_encryption_key_derives_the_libsodium_public_key() -> None:
    secret = bytes(range(32))
    assert EncryptionKey(1, secret).public == bytes(PrivateKey(secret).public_key)


def test_generated_keys_are_random_and_well_formed() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    assert a.seed != b.seed
    assert len(a.public) == 32
    k = EncryptionKey.generate(3)
    assert k.version == 3
    assert len(k.public) == 32
    assert EncryptionKey.generate(3).secret != k.secret


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33)])
def test_signing_seed_must_be_32_bytes(seed: bytes) -> None:
    with pytest.raises(ValueError):
        SigningKey(seed)


@pytest.mark.parametrize(("version", "secret"), [(1, bytes(31)), (0, bytes(32)), (-1, bytes(32))])
def test_encryption_key_needs_32_bytes_and_a_version_from_one(version: int, secret: bytes) -> None:
    with pytest.raises(ValueError):
        EncryptionKey(version, secret)


def test_secrets_never_appear_in_repr() -> None:
    seed = bytes(range(32))
    assert repr(seed) not in repr(SigningKey(seed))
    assert repr(seed) not in repr(EncryptionKey(1, seed))
