"""Opened pledges written out: CSV for spreadsheets, JSON Lines for scripts, a fixed-width table
for the terminal, each streaming row by row (organizer/roster.py yields the rows)."""

import csv
import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from organizer.printable import json_safe, printable  # students' text reaches terminals only so

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
