"""Counts of opened pledges per school and per choice, and the bar-chart summary of
`roster --summary`; the app's roster page and the HTML report show the same counts."""

from collections import Counter
from collections.abc import Iterator
from typing import Any, TextIO

from organizer.printable import printable
from organizer.roster import Tally
from organizer.roster_formats import answer_text

SCHOOL_IDS = {"school", "escuela", "schools"}
NO_ANSWER = "(no answer)"
BAR_WIDTH = 30
BAR_LABEL = 32


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
