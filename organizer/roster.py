"""Download a campaign's ciphertexts page by page and open them here, streaming to the output.

Memory stays flat however large the roster: at most two pages (PAGE pledges each) are held at a
time, and summaries keep counts, not rows.
"""

import csv
import json
import os
import re
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
from organizer.printable import json_safe, printable  # students' text reaches terminals only so
from organizer.session import Session

PAGE = 1000
OPENERS = max(1, min(4, os.cpu_count() or 1))  # threads that open a page's slices
SCHOOL_IDS = {"school", "escuela", "schools"}
NO_ANSWER = "(no answer)"
BAR_WIDTH = 30
BAR_LABEL = 32


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


# A formula character at the start of a cell, or after anything a spreadsheet may split a line
# on (`,`; `;` in Spanish and other locales; a tab; a line end), with spaces or quote marks between.
_FORMULA_AFTER_SEPARATOR = re.compile(r"""(^|[,;\t\r\n])([\s"']*)([=+\-@])""")


def safe_cell(value: Any) -> str:
    """Spreadsheet-safe text: a =, +, - or @ that a spreadsheet could read at the start of a cell
    gets a ' before it, shown as text. Cells are also all quoted (write_csv), but a spreadsheet
    that splits on `;` (Spanish locales) while the file separates with `,` would still cut
    `x;=HYPERLINK(…)` into a cell starting with `=`, so every such place is neutralised."""
    text = "" if value is None else ("yes" if value is True else "no" if value is False else str(value))
    return _FORMULA_AFTER_SEPARATOR.sub(r"\1\2'\3", text)


_JSONL = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps would build one per row


def write_jsonl(rows: Iterator[dict[str, Any]], out: TextIO) -> None:
    for row in rows:
        out.write(json_safe(_JSONL(row)) + "\n")  # students' text: no raw control characters


def write_csv(rows: Iterator[dict[str, Any]], out: TextIO, fields: list[dict[str, Any]],
              ids: bool = False) -> None:
    """Columns headed by the questions and cells holding the answers as the table and report
    show them (option labels, yes/no); `ids` writes field and option ids instead, for scripts
    written against the earlier CSV (JSON Lines carries ids too)."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # no cell a spreadsheet splits on its own
    heads = [f["id"] if ids else f["label"]["en"] for f in fields]
    writer.writerow(["pledge_id", "received_day", "key_version", *(safe_cell(h) for h in heads)])
    for row in rows:
        answers = row["answers"]
        cells = [answers.get(f["id"]) if ids else answer_text(f, answers.get(f["id"]))
                 for f in fields]
        writer.writerow([row["pledge_id"], row["received_day"], row["key_version"],
                         *(safe_cell(c) for c in cells)])


def answer_text(field_spec: dict[str, Any], value: Any) -> str:
    """What an answer says, in English: the option's label, yes/no, or the text as sent."""
    if field_spec["type"] == "checkbox":
        return "yes" if value is True else "no"
    for option in field_spec.get("options", []):
        if option["id"] == value:
            return str(option["label"]["en"])
    return "" if value is None else str(value)


def write_table(rows: Iterator[dict[str, Any]], out: TextIO, fields: list[dict[str, Any]]) -> None:
    """Fixed-width columns so the table streams; long answers are cut with an ellipsis."""
    width = 24

    def cell(text: str) -> str:
        text = printable(text)
        return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)

    out.write("  ".join(cell(h) for h in ["received", *(f["id"] for f in fields)]).rstrip() + "\n")
    for row in rows:
        answers = row["answers"]
        values = [safe_cell(answer_text(f, answers.get(f["id"]))) for f in fields]
        out.write("  ".join(cell(v) for v in [row["received_day"], *values]).rstrip() + "\n")


def is_school(field_spec: dict[str, Any]) -> bool:
    return str(field_spec["id"]).lower() in SCHOOL_IDS


def summary_heading(field_spec: dict[str, Any]) -> str:
    """"Per school" for the school question (its label, "Your school", reads oddly as a
    heading), the question's English label for the others."""
    return "Per school" if is_school(field_spec) else str(field_spec["label"]["en"])


def countable(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields worth counting: the school (first, even when typed as free text), then every
    choice and checkbox."""
    picked = [f for f in fields if f["type"] in ("choice", "checkbox") or
              (is_school(f) and f["type"] == "text")]
    return sorted(picked, key=lambda f: not is_school(f))


class Counts:
    """Per-field counters. Free-text schools are grouped ignoring case and spacing, and shown as
    their most common spelling ("Covina High" and "covina  high" are one school)."""

    def __init__(self, fields: list[dict[str, Any]], tally: Tally) -> None:
        self.fields, self.tally = countable(fields), tally
        self._spellings: dict[str, dict[str, Counter[str]]] = {}
        for f in self.fields:
            tally.counts.setdefault(f["id"], Counter())
            self._spellings[f["id"]] = {}

    def add(self, row: dict[str, Any]) -> None:
        for f in self.fields:
            label = answer_text(f, row["answers"].get(f["id"]))
            if f["type"] == "text":
                label = " ".join(label.split())
                group = self._spellings[f["id"]].setdefault(label.casefold(), Counter())
                group[label] += 1
            else:
                self.tally.counts[f["id"]][label or NO_ANSWER] += 1

    def current(self) -> dict[str, Counter[str]]:
        """The counts so far, free-text schools grouped, without ending the count (live views)."""
        result = {fid: Counter(counter) for fid, counter in self.tally.counts.items()}
        for fid, groups in self._spellings.items():
            for spellings in list(groups.values()):
                shown = min(spellings, key=lambda s: (-spellings[s], s)) or NO_ANSWER
                result[fid][shown] += sum(spellings.values())
        return result

    def finish(self) -> Tally:
        for fid, groups in self._spellings.items():
            for spellings in groups.values():
                shown = min(spellings, key=lambda s: (-spellings[s], s)) or NO_ANSWER
                self.tally.counts[fid][shown] += sum(spellings.values())
        self._spellings = {fid: {} for fid in self._spellings}
        return self.tally


def count(rows: Iterator[dict[str, Any]], fields: list[dict[str, Any]], tally: Tally) -> None:
    counts = Counts(fields, tally)
    for row in rows:
        counts.add(row)
    counts.finish()


def bar_chars(out: TextIO) -> tuple[str, str]:
    """Solid blocks where the terminal can print them, plain # and . where it cannot."""
    try:
        "█░".encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return "#", "."
    return "█", "░"


def write_summary(out: TextIO, fields: list[dict[str, Any]], tally: Tally) -> None:
    """Counts per school and per choice, each with a bar chart scaled to the total."""
    full, empty = bar_chars(out)
    total = tally.opened
    out.write(f"{total} pledge{'s' if total != 1 else ''}\n")
    for f in countable(fields):
        counter = tally.counts.get(f["id"])
        if not counter:
            continue
        heading = printable(summary_heading(f))
        out.write(f"\n{heading}\n")
        names = {label: printable(label)[:BAR_LABEL] for label in counter}
        pad = max(len(name) for name in names.values())
        digits = len(str(max(counter.values())))
        for label, n in counter.most_common():
            filled = round(BAR_WIDTH * n / max(total, 1))
            bar = full * filled + empty * (BAR_WIDTH - filled)
            out.write(f"  {names[label]:<{pad}}  {bar}  {n:>{digits}}  {100 * n / max(total, 1):3.0f}%\n")
