"""Key rotation from the tool: a new encryption key for the verified organizers, then re-encryption.

Rotation is one request: the new public key signed by the coalition, and its secret wrapped to
every active organizer whose approval verifies. Re-encryption opens each stored ciphertext here
and seals the same padded plaintext to the new key (so its size bucket does not change), and
sends batches the server applies as compare-and-swap: interrupted at any point and run again, it
finishes, with every pledge present once. Only then are old versions' wrapped copies pruned.
"""

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from crypto import BadEnvelope
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import open_bytes, seal_bytes
from crypto.signing import EncryptionKey
from crypto.wrapping import wrap_secret
from organizer import campaigns, coalition, members
from organizer.errors import NeedsAdmin, NoSecretForVersion
from organizer.session import Session

BATCH = 1000
MAX_BATCH = 2000
BATCH_BYTES = 4 * 1024 * 1024  # stays well under the server's 8 MiB request limit


@dataclass
class Resealed:
    resealed: int = 0
    skipped: int = 0
    unopened: int = 0
    missing_key: int = 0
    pruned: tuple[int, ...] = ()


def rotate(session: Session) -> int:
    """Publish encryption key version n+1, wrapped to every verified active organizer."""
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can rotate the coalition's key; ask one of your admins.")
    me = coalition.sync(session)
    key = EncryptionKey.generate(int(me["encryption_key"]["version"]) + 1)
    wrapped = [{"organizer_id": o["organizer_id"], "kind": "encryption", "version": key.version,
                "ciphertext": b64u_encode(wrap_secret(b64u_decode(o["box_public"], length=32),
                                                      session.coalition_id, "encryption",
                                                      key.version, key.secret))}
               for o in members.active(members.organizers(session))]
    session.client().post("/api/v1/org/keys", {
        "encryption_key": coalition.signed_key_json(session.coalition_id, signing, key),
        "wrapped": wrapped})
    coalition.sync(session)  # takes our own wrapped copy, as every other organizer will
    return key.version


@dataclass
class _Resealer:
    """Opens with whichever old version a row names (looked up once each), seals to `new`."""

    session: Session
    new: EncryptionKey
    tally: Resealed
    keys: dict[int, EncryptionKey | None] = field(default_factory=dict)

    def _old(self, version: int) -> EncryptionKey | None:
        if version not in self.keys:
            try:
                self.keys[version] = self.session.encryption_key(version)
            except NoSecretForVersion:
                self.keys[version] = None
        return self.keys[version]

    def reseal(self, version: int, ciphertext: str) -> bytes | None:
        old = self._old(version)
        if old is None:
            self.tally.missing_key += 1
            return None
        try:
            return seal_bytes(self.new.public, open_bytes(old.public, old.secret,
                                                          b64u_decode(ciphertext)))
        except (BadEnvelope, ValueError):
            self.tally.unopened += 1
            return None


def _batches(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    weight = 0
    for item in items:
        batch.append(item)
        weight += len(item["ciphertext"])
        if len(batch) >= size or weight >= BATCH_BYTES:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch


def _stale(session: Session, campaign_id: str, size: int) -> Iterator[dict[str, Any]]:
    client, after = session.client(), ""
    while True:
        page = client.get(f"/api/v1/org/campaigns/{campaign_id}/stale-pledges",
                          query=f"after={after}&limit={size}")
        yield from page["pledges"]
        if not page["next"]:
            return
        after = page["next"]


def reencrypt(session: Session, size: int = BATCH,
              progress: Callable[[int], None] | None = None) -> Resealed:
    """Re-seal every live pledge and directory card still on an older key to the current one."""
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can re-encrypt the coalition's data; ask one of your admins.")
    size = max(1, min(size, MAX_BATCH))
    me = coalition.sync(session)
    new = session.encryption_key(int(me["encryption_key"]["version"]))
    client, tally = session.client(), Resealed()
    resealer = _Resealer(session, new, tally)

    def send(kind: str, key: str, rows: list[dict[str, Any]]) -> None:
        items = []
        for row in rows:
            sealed = resealer.reseal(row["key_version"], row["ciphertext"])
            if sealed is not None:
                items.append({key: row[key], "from_version": row["key_version"],
                              "ciphertext": b64u_encode(sealed)})
        if items:
            result = client.post("/api/v1/org/reencrypt", {"to_version": new.version, kind: items})
            tally.resealed += result["updated"]
            tally.skipped += result["skipped"]
        if progress:
            progress(len(rows))

    for campaign in campaigns.list_campaigns(session):
        for batch in _batches(_stale(session, campaign["campaign_id"], size), size):
            send("pledges", "pledge_id", batch)
    cards = [e for e in client.get("/api/v1/org/directory")["entries"]
             if e["key_version"] < new.version]
    for batch in _batches(iter(cards), size):
        send("directory", "fingerprint", batch)
    # The server keeps any version something still uses (such as a pledge that would not open).
    tally.pruned = tuple(client.post("/api/v1/org/keys/prune", {})["deleted"])
    coalition.sync(session)  # forgets the versions just pruned (organizer/keyring.py)
    return tally


def report(tally: Resealed, stream: Any = sys.stderr) -> None:
    print(f"{tally.resealed} items re-encrypted to the current key", file=stream)
    if tally.skipped:
        print(f"{tally.skipped} items had changed meanwhile (withdrawn or already done) and were "
              "left as they are", file=stream)
    if tally.unopened or tally.missing_key:
        print(f"warning: {tally.unopened + tally.missing_key} items could not be opened with the "
              "keys you hold and stay on their old key; old keys are kept until they are gone",
              file=stream)
    if tally.pruned:
        versions = ", ".join(str(v) for v in tally.pruned)
        print(f"old key versions {versions} are no longer needed and were deleted", file=stream)
