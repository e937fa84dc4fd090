"""Thin wrappers over libsodium (through PyNaCl's bindings); nothing above this layer touches nonces."""

import hashlib
import hmac

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from crypto.errors import BadEnvelope, BadSignature

SIGN_PUBLIC_BYTES = 32
SIGN_SEED_BYTES = 32
SIGNATURE_BYTES = 64
BOX_KEY_BYTES = 32
SEAL_OVERHEAD = sodium.crypto_box_SEALBYTES


def random_bytes(n: int) -> bytes:
    return nacl.utils.random(n)


def blake2b(data: bytes, size: int = 32, key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=size, key=key).digest()


def blake2b_after(prefix: bytes, size: int = 32, key: bytes = b"") -> "hashlib.blake2b":
    """A BLAKE2b state that has absorbed `prefix`: `.copy()`, `.update(rest)`, `.digest()` give
    blake2b(prefix + rest) without hashing the prefix again (many digests sharing one prefix)."""
    return hashlib.blake2b(prefix, digest_size=size, key=key)


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison, so token checks leak no prefix length."""
    return hmac.compare_digest(a, b)


def sign_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """Ed25519 from a 32-byte seed: (public key, libsodium 64-byte secret key)."""
    return sodium.crypto_sign_seed_keypair(seed)


def sign(secret64: bytes, message: bytes) -> bytes:
    return sodium.crypto_sign(message, secret64)[:SIGNATURE_BYTES]


def verify(public: bytes, message: bytes, signature: bytes) -> None:
    if len(public) != SIGN_PUBLIC_BYTES or len(signature) != SIGNATURE_BYTES:
        raise BadSignature("malformed key or signature")
    try:
        sodium.crypto_sign_open(signature + message, public)
    except nacl.exceptions.BadSignatureError as exc:
        raise BadSignature() from exc


def box_public(secret: bytes) -> bytes:
    return sodium.crypto_scalarmult_base(secret)


def seal(public: bytes, message: bytes) -> bytes:
    return sodium.crypto_box_seal(message, public)


def seal_open(public: bytes, secret: bytes, ciphertext: bytes) -> bytes:
    try:
        return sodium.crypto_box_seal_open(ciphertext, public, secret)
    except nacl.exceptions.CryptoError as exc:
        raise BadEnvelope("does not open with this key") from exc


def secretbox(key: bytes, message: bytes) -> bytes:
    nonce = random_bytes(sodium.crypto_secretbox_NONCEBYTES)
    return nonce + sodium.crypto_secretbox(message, nonce, key)


def secretbox_open(key: bytes, sealed: bytes) -> bytes:
    n = sodium.crypto_secretbox_NONCEBYTES
    try:
        return sodium.crypto_secretbox_open(sealed[n:], sealed[:n], key)
    except nacl.exceptions.CryptoError as exc:
        raise BadEnvelope("secretbox does not open") from exc


def pad(data: bytes, block: int) -> bytes:
    return sodium.sodium_pad(data, block)


def unpad(data: bytes, block: int) -> bytes:
    try:
        return sodium.sodium_unpad(data, block)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise BadEnvelope("bad padding") from exc
