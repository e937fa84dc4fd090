"""A roster opened in the background for a page that stays responsive: counts while streaming.

The app's roster page asks for a snapshot every few seconds while a `RosterRun` opens the
campaign's pledges on a worker thread. Counts (per school, per choice, per day) grow as pages
arrive, so the first figures show within a page's time, not the whole roster's. The opened
answers are kept in this process's memory only, as short tuples of display texts, for the
searchable paged table; nothing is written to disk, and `drop()` lets them go (on lock).
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crypto import CryptoError
from organizer import roster, roster_counts, roster_formats
from organizer.errors import UserError
from organizer.session import Session

PER_PAGE = 50
UNEXPECTED = "Something went wrong; nothing more was done. Try again."  # the app translates it
MAX_HELPERS = 100  # the "I want to help" list on screen; the exports hold every one


@dataclass(frozen=True)
class Row:
    """One opened pledge as the table shows it: the day and each field's answer as text."""

    pledge_id: str
    day: str
    cells: tuple[str, ...]


def row_of(fields: list[dict[str, Any]], pledge: dict[str, Any]) -> Row:
    answers = pledge["answers"]
    return Row(pledge["pledge_id"], pledge["received_day"],
               tuple(roster_formats.answer_text(f, answers.get(f["id"])) for f in fields))


def help_field_id(fields: list[dict[str, Any]]) -> str | None:
    """The "I want to help" checkbox (id `help`, else the first checkbox), if the form has one."""
    boxes = [f["id"] for f in fields if f["type"] == "checkbox"]
    return "help" if "help" in boxes else (boxes[0] if boxes else None)


@dataclass
class Snapshot:
    """What the page shows at one moment; `done` and `expected` drive its progress bar."""

    done: int
    expected: int
    finished: bool
    error: str | None
    opened: int
    unopened: int
    duplicates: int  # byte-identical copies of an earlier pledge (protocol 1.1): left out, and said
    conflicts: int  # pledges sharing a nonce with a different one (amendment 1): kept and flagged
    counts: list[tuple[dict[str, Any], list[tuple[str, int]]]]  # (field, [(label, n)] by n)
    per_day: list[tuple[str, int]]
    helpers: int


@dataclass
class RosterRun:
    """One pass over a campaign's pledges on a background thread; readers take snapshots."""

    session: Session
    campaign_id: str
    fields: list[dict[str, Any]]
    expected: int = 0
    rows: list[Row] = field(default_factory=list)
    helpers: list[Row] = field(default_factory=list)
    per_day: Counter[str] = field(default_factory=Counter)
    tally: roster.Tally = field(default_factory=roster.Tally)
    done: int = 0
    finished: bool = False
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    on_end: Callable[["RosterRun"], None] | None = None
    stopped: bool = False
    _counts: roster_counts.Counts | None = None
    _flagged: frozenset[str] = frozenset()  # copied on the worker thread, the set's only writer
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "RosterRun":
        threading.Thread(target=self._run, name="roster-live", daemon=True).start()
        return self

    def _run(self) -> None:
        counts = self._counts = roster_counts.Counts(self.fields, self.tally)
        helper = help_field_id(self.fields)
        try:
            for pledge in roster.pledges(self.session, self.campaign_id, self.tally,
                                         fields=self.fields):
                if self.stopped:
                    break
                row = row_of(self.fields, pledge)
                with self._lock:
                    counts.add(pledge)
                    self.per_day[row.day] += 1
                    self.rows.append(row)
                    if helper and pledge["answers"].get(helper) is True:
                        self.helpers.append(row)
                    self.done += 1
                    if len(self.tally.conflicting) != len(self._flagged):
                        self._flagged = frozenset(self.tally.conflicting)
        except (UserError, CryptoError) as exc:
            self.error = str(exc)
        except Exception:  # no traceback on stderr: it could quote an answer
            self.error = UNEXPECTED
        finally:
            with self._lock:
                counts.finish()
                self._flagged = frozenset(self.tally.conflicting)
                self.finished, self.ended = True, time.monotonic()
            if self.on_end:
                self.on_end(self)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot()

    def view(self, query: str = "", page: int = 1, per_page: int = PER_PAGE
             ) -> tuple[Snapshot, list[Row], int]:
        """The counts and one page of the table taken together, so the page never shows a table
        that disagrees with the counts above it (issue 18, item 10)."""
        with self._lock:
            rows, matching = self._table(query, page, per_page)
            return self._snapshot(), rows, matching

    def _snapshot(self) -> Snapshot:
        current = (self._counts.current() if self._counts and not self.finished
                   else self.tally.counts)
        counts = [(f, current[f["id"]].most_common()) for f in roster_counts.countable(self.fields)
                  if current.get(f["id"])]
        per_day = sorted(self.per_day.items())
        return Snapshot(self.done, max(self.expected, self.done), self.finished, self.error,
                        self.done, self.tally.unopened + self.tally.missing_key,
                        self.tally.duplicates, self.tally.conflicts, counts, per_day,
                        len(self.helpers))

    def seen(self) -> int:
        """Every stored pledge this pass met, opened or not: compared with the server's count."""
        t = self.tally
        return self.done + t.unopened + t.missing_key + t.duplicates

    def table(self, query: str = "", page: int = 1, per_page: int = PER_PAGE
              ) -> tuple[list[Row], int]:
        with self._lock:
            return self._table(query, page, per_page)

    def _table(self, query: str, page: int, per_page: int) -> tuple[list[Row], int]:
        """One page of the rows matching `query` (any cell, ignoring case), and how many match."""
        rows = self.rows[: self.done]  # a consistent prefix while the worker appends
        needle = query.casefold().strip()
        if needle:
            rows = [r for r in rows if needle in r.day or
                    any(needle in cell.casefold() for cell in r.cells)]
        start = max(0, page - 1) * per_page
        return rows[start:start + per_page], len(rows)

    def conflicting(self) -> frozenset[str]:
        """Ids of the pledges that share a nonce with a different pledge, flagged in the table."""
        with self._lock:
            return self._flagged

    def helper_rows(self) -> list[Row]:
        return self.helpers[:MAX_HELPERS]

    def drop(self) -> None:
        """Let the opened answers go (the app locked, or a newer run replaced this one)."""
        with self._lock:
            self.stopped = True
            self.rows, self.helpers, self.done = [], [], 0
            self._flagged = frozenset()
