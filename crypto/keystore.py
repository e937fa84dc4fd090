"""The organizer's keystore: one JSON file, its payload sealed with SecretBox under an argon2id key.

The payload is a JSON object owned by the organizer tool (identity, server URL, coalition secrets).
This module only knows how to lock and unlock it; key derivation parameters live in the file so
they can be raised later without breaking old keystores.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw

from crypto import _primitives as p
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import BadEnvelope, CryptoError, KeystoreCorrupt, WrongPassphrase

FORMAT = "pledgebox-keystore"
VERSION = 1


@dataclass(frozen=True)
class KdfParams:
    """argon2id costs; the defaults take about a second on a two-core server of 2026."""

    time_cost: int = 3
    memory_cost: int = 262144  # KiB
    parallelism: int = 1

    def weaker_than(self, other: "KdfParams") -> bool:
        """Cheaper to guess with than `other` in time or memory (parallelism costs no guesser)."""
        return self.time_cost < other.time_cost or self.memory_cost < other.memory_cost

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            passphrase.encode("utf-8"), salt, time_cost=self.time_cost,
            memory_cost=self.memory_cost, parallelism=self.parallelism, hash_len=32, type=Type.ID,
        )


# Sanity bounds on parameters read from a file: a damaged or doctored file must give a one-line
# error, not an argon2 exception, hours of hashing or an attempt to allocate terabytes.
_KDF_BOUNDS = {"time_cost": (1, 100), "memory_cost": (8, 4 * 1024 * 1024), "parallelism": (1, 255)}
_MIN_SEALED = 24 + 16  # secretbox nonce and MAC: anything shorter is damage, not a wrong passphrase


def _bounded(value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise KeystoreCorrupt()
    return value


# Only for test suites that create hundreds of keystores; never offered by the organizer tool.
TEST_KDF = KdfParams(time_cost=1, memory_cost=8192, parallelism=1)


@dataclass
class Keystore:
    path: Path
    payload: dict[str, Any]
    kdf: KdfParams
    salt: bytes = field(repr=False)
    _key: bytes = field(repr=False)

    @classmethod
    def create(
        cls, path: Path, passphrase: str, payload: dict[str, Any], kdf: KdfParams | None = None
    ) -> "Keystore":
        if not passphrase:
            raise CryptoError("the passphrase may not be empty")
        if path.exists():
            raise CryptoError(f"a keystore already exists at {path}; refusing to overwrite it")
        kdf = kdf or KdfParams()
        salt = p.random_bytes(16)
        store = cls(path, payload, kdf, salt, kdf.derive(passphrase, salt))
        store.save()
        return store

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> "Keystore":
        try:
            doc = json.loads(path.read_text("utf-8"))
            if doc.get("format") != FORMAT or doc.get("version") != VERSION:
                raise KeystoreCorrupt()
            k = doc["kdf"]
            if k.get("name") != "argon2id":
                raise KeystoreCorrupt()
            kdf = KdfParams(*(_bounded(k[name], lo, hi) for name, (lo, hi) in _KDF_BOUNDS.items()))
            salt = b64u_decode(k["salt"], length=16)
            sealed = b64u_decode(doc["box"])
            if len(sealed) < _MIN_SEALED:
                raise KeystoreCorrupt()
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, CryptoError) as exc:
            raise KeystoreCorrupt() from exc
        try:
            key = kdf.derive(passphrase, salt)
        except HashingError as exc:
            raise KeystoreCorrupt() from exc
        try:
            payload = json.loads(p.secretbox_open(key, sealed))
        except BadEnvelope as exc:
            raise WrongPassphrase() from exc
        except ValueError as exc:
            raise KeystoreCorrupt() from exc
        return cls(path, payload, kdf, salt, key)

    def matches(self, passphrase: str) -> bool:
        """Whether `passphrase` is the one this keystore is sealed with (compared in constant time)."""
        try:
            return p.equal(self.kdf.derive(passphrase, self.salt), self._key)
        except HashingError:
            return False

    def rekey(self, passphrase: str, kdf: KdfParams) -> None:
        """Seal the same payload under `kdf` and a new salt. save() replaces the file atomically,
        so the old file stays whole until the new one is complete; if writing fails, this object
        keeps the old costs, which still match the file on disk."""
        old = (self.kdf, self.salt, self._key)
        self.salt = p.random_bytes(16)
        self.kdf, self._key = kdf, kdf.derive(passphrase, self.salt)
        try:
            self.save()
        except BaseException:
            self.kdf, self.salt, self._key = old
            raise

    def save(self) -> None:
        """Write atomically (temp file in the same folder, fsync, rename) so a crash never
        leaves a half-written keystore; the temp file holds only ciphertext."""
        sealed = p.secretbox(self._key, json.dumps(self.payload, sort_keys=True).encode("utf-8"))
        doc = {
            "format": FORMAT, "version": VERSION,
            "kdf": {"name": "argon2id", "time_cost": self.kdf.time_cost,
                    "memory_cost": self.kdf.memory_cost, "parallelism": self.kdf.parallelism,
                    "salt": b64u_encode(self.salt)},
            "box": b64u_encode(sealed),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keystore-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
