"""Key rotation from the tool: a new encryption key for the verified organizers, then re-encryption.

Rotation is one request: the new public key signed by the coalition, and its secret wrapped to
every active organizer whose approval verifies. Re-encryption opens each stored ciphertext here
and seals the same padded plaintext to the new key (`crypto.resealing`: same size bucket), and
sends batches the server applies as compare-and-swap: interrupted at any point and run again, it
finishes, with every pledge present once. Only then are old versions' wrapped copies pruned.
"""

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from crypto import BadEnvelope
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import BadEncoding
from crypto.resealing import reseal_with_nonce
from crypto.signing import EncryptionKey
from crypto.wrapping import wrap_secret
from organizer import campaigns, coalition, keyring, members, paging
from organizer.client import Client
from organizer.errors import NeedsAdmin, NoSecretForVersion
from organizer.nonces import NonceBook, Verdict
from organizer.session import Session

BATCH = 1000
MAX_BATCH = 2000
BATCH_BYTES = 4 * 1024 * 1024  # stays well under the server's 8 MiB request limit
RESEALERS = max(1, min(4, os.cpu_count() or 1))  # threads that re-seal a batch's slices


@dataclass
class Resealed:
    resealed: int = 0
    skipped: int = 0
    unopened: int = 0
    missing_key: int = 0
    duplicates: int = 0
    pruned: tuple[int, ...] = ()


def rotate(session: Session) -> int:
    """Publish encryption key version n+1, wrapped to every verified active organizer.

    n is the higher of the server's current version and the highest this keystore has seen
    (amendment 5): a version number is never signed twice for two different keys."""
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can rotate the coalition's key; ask one of your admins.")
    me = coalition.sync(session)
    key = EncryptionKey.generate(max(int(me["encryption_key"]["version"]),
                                     keyring.highest_seen(session)) + 1)
    wrapped = [{"organizer_id": o["organizer_id"], "kind": "encryption", "version": key.version,
                "ciphertext": b64u_encode(wrap_secret(b64u_decode(o["box_public"], length=32),
                                                      session.coalition_id, "encryption",
                                                      key.version, key.secret))}
               for o in members.active(members.organizers(session))]
    session.client().post("/api/v1/org/keys", {
        "encryption_key": coalition.sign_statement(session, signing, key),
        "wrapped": wrapped})
    coalition.sync(session)  # takes our own wrapped copy, as every other organizer will
    return key.version


_MISSING_KEY, _UNOPENED = object(), object()


@dataclass
class _Resealer:
    """Opens with whichever old version a row names, seals to the new key. Public keys are
    derived once per version here: deriving them per pledge would cost a third of the work.

    A batch is re-sealed by a few threads in contiguous slices put back in order, as the roster
    opens pages: libsodium runs without Python's GIL, so the laptop's cores share the work
    (bench/bench_reencrypt.py). Keys are looked up before the threads start, and the threads
    only return results: the tally is counted here, in one thread.
    """

    session: Session
    new: EncryptionKey
    tally: Resealed
    pool: ThreadPoolExecutor
    keys: dict[int, tuple[bytes, bytes] | None] = field(default_factory=dict)
    book: NonceBook = field(default_factory=NonceBook)  # nonces of pledges re-sealed in this run

    def __post_init__(self) -> None:
        self.new_public = self.new.public

    def _old(self, version: int) -> tuple[bytes, bytes] | None:
        if version not in self.keys:
            try:
                key = self.session.encryption_key(version)
                self.keys[version] = (key.public, key.secret)
            except NoSecretForVersion:
                self.keys[version] = None
        return self.keys[version]

    def _reseal(self, version: int, ciphertext: str) -> tuple[bytes, str | None, bytes] | object:
        old = self.keys[version]
        if old is None:
            return _MISSING_KEY
        try:
            return reseal_with_nonce(old[0], old[1], self.new_public, b64u_decode(ciphertext))
        except (BadEnvelope, BadEncoding, ValueError):  # a hostile server's garbage
            return _UNOPENED

    def items(self, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        for version in {row["key_version"] for row in rows}:
            self._old(version)
        size = -(-len(rows) // RESEALERS) or 1
        slices = [rows[i:i + size] for i in range(0, len(rows), size)]
        items = []
        for part, results in zip(slices, self.pool.map(
                lambda part: [self._reseal(r["key_version"], r["ciphertext"]) for r in part], slices),
                strict=True):
            for row, sealed in zip(part, results, strict=True):
                if isinstance(sealed, tuple):
                    if self._repeated(sealed[1], sealed[2], row[key]):
                        continue
                    items.append({key: row[key], "from_version": row["key_version"],
                                  "ciphertext": b64u_encode(sealed[0])})
                elif sealed is _MISSING_KEY:
                    self.tally.missing_key += 1
                else:
                    self.tally.unopened += 1
        return items


    def _repeated(self, nonce: str | None, plain_digest: bytes, item_id: str) -> bool:
        """A byte-identical copy of a pledge re-sealed earlier in this run (id order) is left on
        its old key and counted, as every reader leaves it out (the old version is kept while it
        remains). A pledge that only shares a nonce is re-sealed: readers keep both
        (protocol 1.1, amendment 1), so leaving one behind would let a forgery strand it."""
        if self.book.check(nonce, plain_digest, item_id) is Verdict.REPEAT:
            self.tally.duplicates += 1
            return True
        return False


class _Pipeline:
    """At most one batch in flight: the server applies batch k while this process re-seals k+1.
    Killed at any moment, the batch in flight is either committed whole or not at all."""

    def __init__(self, client: Client, version: int, tally: Resealed,
                 progress: Callable[[int], None] | None) -> None:
        self.client, self.version, self.tally, self.progress = client, version, tally, progress
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pledgebox-reencrypt")
        self._pending: Future[tuple[dict[str, Any], int]] | None = None

    def _post(self, kind: str, items: list[dict[str, Any]], rows: int) -> tuple[dict[str, Any], int]:
        if not items:
            return {"updated": 0, "skipped": 0}, rows
        return self.client.post("/api/v1/org/reencrypt", {"to_version": self.version, kind: items}), rows

    def submit(self, kind: str, items: list[dict[str, Any]], rows: int) -> None:
        self.wait()
        self._pending = self._pool.submit(self._post, kind, items, rows)

    def wait(self) -> None:
        if self._pending is None:
            return
        result, rows = self._pending.result()
        self._pending = None
        self.tally.resealed += result["updated"]
        self.tally.skipped += result["skipped"]
        if self.progress:
            self.progress(rows)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split a page so no request body nears the server's size limit (big pledges are 8 KiB)."""
    chunk: list[dict[str, Any]] = []
    weight = 0
    for row in rows:
        chunk.append(row)
        weight += len(row["ciphertext"])
        if weight >= BATCH_BYTES:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


def _stale_pages(client: Client, campaign_id: str, size: int) -> Iterator[list[dict[str, Any]]]:
    after = ""
    while True:
        page = client.get(f"/api/v1/org/campaigns/{campaign_id}/stale-pledges",
                          query=f"after={after}&limit={size}")
        after = paging.advance((str(p["pledge_id"]) for p in page["pledges"]), page["next"], after)
        if page["pledges"]:
            yield page["pledges"]
        if not page["next"]:
            return


def _prefetched(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Fetch the next page in the background while the caller works on this one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pledgebox-fetch") as pool:
        future = pool.submit(next, pages, None)
        while (page := future.result()) is not None:
            future = pool.submit(next, pages, None)
            yield page


def reencrypt(session: Session, size: int = BATCH,
              progress: Callable[[int], None] | None = None) -> Resealed:
    """Re-seal every live pledge and directory card still on an older key to the current one."""
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can re-encrypt the coalition's data; ask one of your admins.")
    size = max(1, min(size, MAX_BATCH))
    me = coalition.sync(session)
    new = session.encryption_key(int(me["encryption_key"]["version"]))
    client, tally = session.client(), Resealed()
    workers = ThreadPoolExecutor(max_workers=RESEALERS, thread_name_prefix="pledgebox-reseal")
    resealer = _Resealer(session, new, tally, workers)
    pipeline = _Pipeline(client, new.version, tally, progress)
    try:
        for campaign in campaigns.list_campaigns(session):
            for page in _prefetched(_stale_pages(client, campaign["campaign_id"], size)):
                for chunk in _chunks(page):
                    pipeline.submit("pledges", resealer.items(chunk, "pledge_id"), len(chunk))
        cards = [e for e in client.get("/api/v1/org/directory")["entries"]
                 if e["key_version"] < new.version]
        for start in range(0, len(cards), size):
            chunk = cards[start:start + size]
            pipeline.submit("directory", resealer.items(chunk, "fingerprint"), len(chunk))
    finally:
        try:
            pipeline.close()
        finally:
            workers.shutdown(wait=True, cancel_futures=True)
    # The server keeps any version something still uses (such as a pledge that would not open).
    tally.pruned = tuple(client.post("/api/v1/org/keys/prune", {})["deleted"])
    coalition.sync(session)  # forgets the versions just pruned (organizer/keyring.py)
    return tally


def stored_total(session: Session) -> int:
    """How many pledges the coalition's live campaigns hold: the most a re-encryption touches
    (progress bars count towards it; directory cards come on top)."""
    return sum(int(c["pledge_count"]) for c in campaigns.list_campaigns(session))


def rotate_then_reencrypt(session: Session, also_reencrypt: bool, size: int = BATCH,
                          progress: Callable[[int], None] | None = None
                          ) -> tuple[int, Resealed | None]:
    """A new key version, then (if asked) everything stored re-sealed to it: after a removal,
    this is what makes the removed organizer's old keys open nothing, now or stored."""
    version = rotate(session)
    return version, (reencrypt(session, size, progress) if also_reencrypt else None)


def _items(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


def report(tally: Resealed, stream: Any = sys.stderr) -> None:
    print(f"{_items(tally.resealed)} re-encrypted to the current key", file=stream)
    if tally.skipped:
        print(f"{_items(tally.skipped)} had changed meanwhile (withdrawn or already done) and "
              f"{'was' if tally.skipped == 1 else 'were'} left as "
              f"{'it is' if tally.skipped == 1 else 'they are'}", file=stream)
    failed = tally.unopened + tally.missing_key
    if failed:
        print(f"warning: {_items(failed)} could not be opened with the keys you hold and "
              f"{'stays' if failed == 1 else 'stay'} on an old key; old keys are kept until "
              "nothing needs them", file=stream)
    if tally.duplicates:
        one = tally.duplicates == 1
        print(f"warning: {tally.duplicates} {'pledge repeats' if one else 'pledges repeat'} an "
              "earlier pledge (the same nonce: the server stored one pledge more than once) and "
              f"{'was' if one else 'were'} left out, on {'its' if one else 'their'} old key",
              file=stream)
    if tally.pruned:
        versions = ", ".join(str(v) for v in tally.pruned)
        if len(tally.pruned) == 1:
            print(f"old key version {versions} is no longer needed and was deleted", file=stream)
        else:
            print(f"old key versions {versions} are no longer needed and were deleted", file=stream)
