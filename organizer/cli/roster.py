"""`pledgebox roster`: download a campaign's pledges, open them on this laptop, and show them as a
table, counts, CSV, JSON Lines or a saved report (docs/cli.md); added to the main parser by
organizer/cli/pledgebox.py."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from organizer import campaigns, report, roster, roster_counts, roster_formats
from organizer.cli.arguments import add_command
from organizer.cli.opening import synced
from organizer.errors import BadInput
from organizer.printable import TerminalSafe
from organizer.tally import zone_today


def _private_file(path: Path) -> Any:
    """A file only you can read (mode 600): what goes in it was decrypted on this laptop."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    return open(fd, "w", encoding="utf-8", newline="")


def _check_roster_options(args: argparse.Namespace) -> None:
    if args.ids and args.format != "csv":
        raise BadInput("--ids only changes CSV: add --format csv (JSON Lines always has ids).")
    if args.bom and args.format != "csv":
        raise BadInput("--bom only works for CSV: add --format csv (and -o FILE.csv to save it).")
    if args.html and (args.output or args.summary or args.format):
        raise BadInput("--html saves its own file: leave out --format, -o and --summary "
                       "(run the command twice if you want both).")


def _write_roster(args: argparse.Namespace, out: Any, item: dict[str, Any],
                  rows: Any, tally: roster.Tally) -> None:
    fields = item["descriptor"]["fields"]
    if args.html:
        report.write_html(rows, out, title=item["descriptor"]["title"],
                          campaign_id=args.campaign_id, fields=fields, tally=tally,
                          today=zone_today(item["descriptor"]))  # the campaign's date, as the page's
    elif args.summary:
        roster_counts.count(rows, fields, tally)
        roster_counts.write_summary(out, fields, tally)
    elif args.format == "jsonl":
        roster_formats.write_jsonl(rows, out)
    elif args.format == "csv":
        if args.bom:
            out.write("\ufeff")  # so Excel reads the file as UTF-8 (accents, ñ, emoji)
        screen = cast(TextIO, TerminalSafe(out)) if out.isatty() else out  # files keep the data
        roster_formats.write_csv(rows, screen, fields, ids=args.ids)
    else:
        roster_formats.write_table(rows, out, fields)


def cmd_roster(args: argparse.Namespace) -> None:
    _check_roster_options(args)
    session = synced(args)
    item = campaigns.find(session, args.campaign_id)
    tally = roster.Tally()
    rows = roster.pledges(session, args.campaign_id, tally, item["pledge_count"],
                          item["descriptor"]["fields"])
    target: Path | None = args.html or args.output
    out = _private_file(target) if target else sys.stdout
    try:
        _write_roster(args, out, item, rows, tally)
    except BaseException:
        if target:
            out.close()
            target.unlink(missing_ok=True)  # no half-written copy of students' answers
        raise
    if target:
        out.close()
    print(f"{tally.opened} pledges opened", file=sys.stderr)
    if args.html:
        print(f"Report saved to {args.html}: open it in your web browser. It holds students' "
              "answers, so keep it on this laptop and delete it when you are done.",
              file=sys.stderr)
    roster.report_left_out(tally)


ROSTER_EXAMPLE = """\
Examples:
  pledgebox roster CAMPAIGN_ID --summary                 counts per school, with bars
  pledgebox roster CAMPAIGN_ID --html report.html        a page with a table and charts
  pledgebox roster CAMPAIGN_ID --format csv --bom -o roster.csv   for Excel or Google Sheets

Saved files hold students' answers: only you can open them on this laptop (mode 600).
Keep them off shared drives and delete them when you are done."""


def register(sub: Any) -> None:
    """Add `pledgebox roster` to the main parser's commands."""
    p = add_command(sub, "roster", cmd_roster, "Download a campaign's pledges and unlock them here "
                    "on your laptop: every pledge in a table, counts with --summary, or a file to "
                    "save.", epilog=ROSTER_EXAMPLE)
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    p.add_argument("--format", choices=["table", "csv", "jsonl"],
                   help="table (to read on screen, the default), csv (for spreadsheets) or "
                   "jsonl (for scripts)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="save to this file instead of showing it on screen")
    p.add_argument("--summary", action="store_true",
                   help="show counts per school and per answer, with bar charts, instead of "
                   "every pledge")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="save a report (table and charts) as one web page to open in your "
                   "browser; it loads nothing from the internet")
    p.add_argument("--ids", action="store_true",
                   help="with --format csv: write field and option ids (school, covina-high) "
                   "instead of their labels, for scripts")
    p.add_argument("--bom", action="store_true",
                   help="with --format csv: mark the file as UTF-8 so Excel shows accents "
                   "(é, ñ) correctly")
