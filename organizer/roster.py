"""Download a campaign's ciphertexts page by page and open them here, streaming to the output.

Memory stays flat however large the roster: at most two pages (PAGE pledges each) are held at a
time, and summaries keep counts, not rows. What is done with the opened rows lives next door:
organizer/roster_formats.py writes them out, organizer/roster_counts.py counts them.
"""

import os
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from crypto import BadEnvelope
from crypto.envelope import open_pledge_plain
from crypto.errors import BadEncoding
from crypto.pledge_page import PledgePage, PledgeRow, decode_page
from organizer import answers as answer_types
from organizer import campaigns, paging
from organizer.errors import DamagedPage, NoSecretForVersion
from organizer.nonces import NonceBook, Verdict, digest
from organizer.session import Session

PAGE = 1000
OPENERS = max(1, min(4, os.cpu_count() or 1))  # threads that open a page's slices


@dataclass
class Tally:
    opened: int = 0
    unopened: int = 0  # did not open, or answers of the wrong types (organizer/answers.py)
    missing_key: int = 0
    duplicates: int = 0  # byte-identical copies of a pledge already counted: left out
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    conflicting: set[str] = field(default_factory=set)  # ids sharing a nonce, differing: all kept

    @property
    def conflicts(self) -> int:
        return len(self.conflicting)


def nonce_of(body: dict[str, Any]) -> str | None:
    """A 1.1 pledge's nonce; pledges without one (version 1 clients) are never duplicates."""
    nonce = body.get("nonce")
    return nonce if isinstance(nonce, str) and nonce else None


def report_left_out(tally: Tally, stream: TextIO = sys.stderr) -> None:
    """The warnings every command that reads pledges prints on stderr."""
    if tally.unopened:
        print(f"warning: {tally.unopened} {'pledge' if tally.unopened == 1 else 'pledges'} could "
              "not be opened (damaged, answers of the wrong kind, or not of this campaign) and "
              f"{'was' if tally.unopened == 1 else 'were'} left out", file=stream)
    if tally.missing_key:
        print(f"warning: {tally.missing_key} pledges use a key version you do not hold and were "
              "left out", file=stream)
    if tally.duplicates:
        one = tally.duplicates == 1
        print(f"warning: {tally.duplicates} {'pledge repeats' if one else 'pledges repeat'} an "
              "earlier pledge (the same nonce and the same answers: the server stored one pledge "
              f"more than once) and {'was' if one else 'were'} left out", file=stream)
    if tally.conflicts:
        print(f"warning: {conflict_sentence(tally.conflicts)} Pledge ids: "
              f"{', '.join(sorted(tally.conflicting))}", file=stream)


def conflict_sentence(n: int) -> str:
    """Amendment 1 of protocol 1.1, in the words every face of the tool uses (English)."""
    return (f"{n} pledges share a nonce with a pledge that says something else: someone who "
            "read one of them (an organizer, or a removed one) may have sent a changed copy. "
            "All of them are kept and counted; check them with the students you know.")


class Progress:
    """Counts on stderr, never roster entries; only drawn when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.stream, self.done = total, stream, 0
        self.live = stream.isatty() and total > PAGE

    def step(self, n: int) -> None:
        self.done += n
        if self.live:
            width = 30
            filled = width * self.done // max(self.total, 1)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def pledges(session: Session, campaign_id: str, tally: Tally, total: int = 0,
            fields: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Yield opened pledges in the shape of `roster --format jsonl`; count what does not open.

    A pledge whose answers do not have the types of the campaign's `fields` (the descriptor's,
    fetched when not given) is counted as unopened. Of pledges sharing a nonce, byte-identical
    copies count once (the first in the server's listing order is kept, the others counted in
    `tally.duplicates`); pledges that share a nonce but differ are all kept and their ids
    collected in `tally.conflicting` (organizer/nonces.py).

    Each page is opened by a few threads, in contiguous slices whose results are put back in
    order: libsodium runs without Python's GIL, so on a laptop's several cores the decryption
    overlaps the framing and output work instead of waiting for it (bench/bench_roster.py).
    """
    if fields is None:
        fields = campaigns.find(session, campaign_id)["descriptor"]["fields"]
    keys: dict[int, tuple[bytes, bytes] | None] = {}
    book = NonceBook(conflicting=tally.conflicting)
    progress = Progress(total)
    with ThreadPoolExecutor(max_workers=OPENERS, thread_name_prefix="roster-open") as pool:
        for rows in _pages(session, campaign_id):
            for version in {row.key_version for row in rows} - keys.keys():
                keys[version] = _key_pair(session, version)
            size = -(-len(rows) // OPENERS) or 1
            slices = [rows[i:i + size] for i in range(0, len(rows), size)]
            for results in pool.map(lambda part: [_open(keys, campaign_id, fields, r) for r in part],
                                    slices):
                for result in results:
                    if isinstance(result, tuple):
                        row, nonce, plain = result
                        if book.check(nonce, plain, row["pledge_id"]) is Verdict.REPEAT:
                            tally.duplicates += 1
                            continue
                        tally.opened += 1
                        yield row
                    elif result is _MISSING_KEY:
                        tally.missing_key += 1
                    else:
                        tally.unopened += 1
            progress.step(len(rows))
    progress.close()


def _pages(session: Session, campaign_id: str) -> Iterator[list[PledgeRow]]:
    """The campaign's pages in order, the next one downloading while the caller opens this one.

    Pages come in the binary form (crypto/pledge_page.py): ciphertexts as raw bytes, a third
    smaller on the wire than base64url in JSON and with nothing to decode. The server's work and
    the transfer overlap local decryption instead of adding to it (bench/bench_roster.py);
    memory holds at most two pages.
    """
    client = session.client()
    path = f"/api/v1/org/campaigns/{campaign_id}/pledges"

    def fetch(after: str) -> PledgePage:
        data = client.get_bytes(path, f"after={after}&limit={PAGE}&format=binary")
        try:
            return decode_page(data)
        except BadEncoding as exc:
            raise DamagedPage() from exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-page") as pool:
        pending, after = pool.submit(fetch, ""), ""
        while True:
            page = pending.result()
            after = check_order(page, after)
            if page.next:
                pending = pool.submit(fetch, page.next)
            yield page.rows
            if not page.next:
                return


def check_order(page: PledgePage, after: str) -> str:
    """Refuse a page that does not move forward (organizer/paging.py); return the next cursor."""
    return paging.advance((row.pledge_id for row in page.rows), page.next, after)


def _key_pair(session: Session, version: int) -> tuple[bytes, bytes] | None:
    """(public, secret) of a key version this organizer holds; the public half derived once."""
    try:
        key = session.encryption_key(version)
    except NoSecretForVersion:
        return None
    return key.public, key.secret


_MISSING_KEY, _UNOPENED = object(), object()


def _open(keys: dict[int, tuple[bytes, bytes] | None], campaign_id: str,
          fields: list[dict[str, Any]], row: PledgeRow
          ) -> tuple[dict[str, Any], str | None, bytes] | object:
    """One opened pledge, its nonce and its plaintext's digest, or a marker saying why not
    (counted by the caller, on one thread)."""
    pair = keys.get(row.key_version)
    if pair is None:
        return _MISSING_KEY
    try:
        body, plaintext = open_pledge_plain(pair[0], pair[1], row.ciphertext, campaign_id)
    except BadEnvelope:
        return _UNOPENED
    if not answer_types.fits(fields, body["answers"]):
        return _UNOPENED
    return ({"pledge_id": row.pledge_id, "received_day": row.received_day,
             "key_version": row.key_version, "answers": body["answers"]}, nonce_of(body),
            digest(plaintext))
