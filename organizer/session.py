"""An unlocked keystore and what it holds: identity, server URL, coalition, secret keys by version."""

import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import WrongPassphrase
from crypto.identity import OrganizerIdentity
from crypto.keystore import TEST_KDF, KdfParams, Keystore
from crypto.signing import EncryptionKey, SigningKey
from organizer import passphrase as passphrase_rule
from organizer.client import Client, Transport, urllib_transport
from organizer.errors import BadInput, NoKeystore, NoSecretForVersion, NotInCoalition

# Test suites create many keystores; this switch makes them cheap. It works only in a source tree
# (see _in_source_tree), never in an installed tool, whatever a person's environment says.
TEST_KDF_ENV = "PLEDGEBOX_INSECURE_TEST_KDF"


def default_keystore_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pledgebox" / "keystore.json"


def _in_source_tree() -> bool:
    """True when this code runs from Pledgebox's source tree (the test suite, development): its
    pyproject.toml and tests/ sit beside the packages. A wheel, an sdist install, pipx and the
    single-file app carry neither, so there the test switch is never honoured."""
    root = Path(__file__).resolve().parent.parent
    return (root / "pyproject.toml").is_file() and (root / "tests" / "conftest.py").is_file()


def kdf_params() -> KdfParams:
    """This release's argon2id costs (the test suite's cheap ones only in the source tree)."""
    if os.environ.get(TEST_KDF_ENV) == "1" and _in_source_tree():
        return TEST_KDF
    return KdfParams()


def _strengthened(store: Keystore, passphrase: str) -> Keystore:
    """Re-seal a keystore made with weaker costs than this release's, now that the passphrase is
    at hand (the only moment it is). A folder that cannot be written is left for a later unlock."""
    target = kdf_params()
    if store.kdf.weaker_than(target):
        with contextlib.suppress(OSError):
            store.rekey(passphrase, target)
    return store


@dataclass
class Session:
    keystore: Keystore
    transport: Transport = urllib_transport
    # Set by close() (the app locked): clients made from this session send nothing more and stop
    # reading an answer in progress, so no thread keeps working with the keys after a lock.
    closed: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @classmethod
    def create(cls, path: Path, passphrase: str, context: tuple[str, ...] = (),
               lang: str = "en") -> "Session":
        """A new keystore; `context` names what a guesser would try first for this organizer
        (a coalition's name, when joining from its invite), `lang` the suggestion's language."""
        # Before any key exists: a refused init leaves nothing behind.
        passphrase_rule.check(passphrase, context, lang)
        identity = OrganizerIdentity.generate()
        payload: dict[str, Any] = {"identity": {"sign_seed": b64u_encode(identity.sign_seed),
                                "box_secret": b64u_encode(identity.box_secret)},
                   "server": None, "coalition": None,
                   "secrets": {"signing": None, "encryption": {}}}
        return cls(Keystore.create(path, passphrase, payload, kdf_params()))

    @classmethod
    def open(cls, path: Path, passphrase: str) -> "Session":
        if not path.exists():
            raise NoKeystore()
        return cls(_strengthened(Keystore.unlock(path, passphrase), passphrase))

    @property
    def data(self) -> dict[str, Any]:
        return self.keystore.payload

    def save(self) -> None:
        self.keystore.save()

    def change_passphrase(self, current: str, new: str, context: tuple[str, ...] = (),
                          lang: str = "en") -> None:
        """Re-seal this keystore under `new` (checked against the rule with `context`: the names a
        guesser tries first for this coalition), once `current` proves it is its owner. The file is
        replaced atomically; backups made before still open with the old passphrase."""
        if not self.keystore.matches(current):
            raise WrongPassphrase()
        passphrase_rule.check(new, context, lang)
        self.keystore.rekey(new, kdf_params())

    def close(self) -> None:
        """No more requests with these keys (what is in memory still saves, so nothing is lost)."""
        self.closed.set()

    @property
    def identity(self) -> OrganizerIdentity:
        ident = self.data["identity"]
        return OrganizerIdentity(b64u_decode(ident["sign_seed"]), b64u_decode(ident["box_secret"]))

    @property
    def coalition(self) -> dict[str, Any]:
        if not self.data.get("coalition") or not self.data.get("server"):
            raise NotInCoalition()
        return self.data["coalition"]

    @property
    def coalition_id(self) -> str:
        return str(self.coalition["coalition_id"])

    @property
    def coalition_name(self) -> str:
        """The name students see, signed into every 1.1 descriptor."""
        return str(self.coalition.get("name") or "")

    @property
    def signing_public(self) -> bytes:
        return b64u_decode(self.coalition["signing_key"], length=32)

    def client(self) -> Client:
        coalition = self.coalition
        return Client(self.data["server"], coalition["organizer_id"], self.identity.sign_secret,
                      self.transport, stop=self.closed)

    def signing_key(self) -> SigningKey | None:
        seed = self.data["secrets"].get("signing")
        return SigningKey(b64u_decode(seed, length=32)) if seed else None

    def encryption_key(self, version: int) -> EncryptionKey:
        secret = self.data["secrets"]["encryption"].get(str(version))
        if secret is None:
            raise NoSecretForVersion(
                f"You do not hold encryption key version {version}; ask an admin to share it "
                "with you (pledgebox organizer approve) or check that you were not removed.")
        return EncryptionKey(version, b64u_decode(secret, length=32))

    def encryption_versions(self) -> list[int]:
        return sorted(int(v) for v in self.data["secrets"]["encryption"])

    def remember_secret(self, kind: str, version: int, secret: bytes) -> None:
        if kind == "signing":
            self.data["secrets"]["signing"] = b64u_encode(secret)
        else:
            self.data["secrets"]["encryption"][str(version)] = b64u_encode(secret)


def restore_backup(path: Path, backup: bytes, passphrase: str) -> Session:
    """Put a keystore backup in place at `path`, only once the passphrase has opened it.

    The file is checked in a temporary copy beside the target (it holds only ciphertext, as the
    backup does), so a wrong file or passphrase leaves nothing behind and never overwrites a
    keystore already there.
    """
    if path.exists():
        raise BadInput("A keystore is already here; nothing was replaced.")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restore-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(backup)
        os.chmod(tmp, 0o600)
        store = Keystore.unlock(Path(tmp), passphrase)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    store.path = path
    return Session(_strengthened(store, passphrase))
