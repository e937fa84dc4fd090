"""`pledgebox`: the organizer's command-line tool (see docs/cli.md for every command)."""

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

from crypto import CryptoError
from crypto.identity import safety_number, safety_words
from organizer import campaigns, coalition, report, roster
from organizer.cli import app as cli_app
from organizer.cli import campaigns as cli_campaigns
from organizer.cli import coalition as cli_coalition
from organizer.cli import people as cli_people
from organizer.cli import watch as cli_watch
from organizer.cli.arguments import HelpFormatter, add_command
from organizer.cli.opening import open_session as _session
from organizer.cli.opening import passphrase as _passphrase
from organizer.cli.opening import synced as _synced
from organizer.errors import BadInput, UserError
from organizer.printable import TerminalSafe, printable
from organizer.session import Session, default_keystore_path
from organizer.tally import zone_today


class FriendlyParser(argparse.ArgumentParser):
    """argparse that ends each usage mistake with where to look next (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {message}\nTo see what it needs, with examples, run: "
                     f"{self.prog} --help\n")


def _private_file(path: Path) -> Any:
    """A file only you can read (mode 600): what goes in it was decrypted on this laptop."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    return open(fd, "w", encoding="utf-8", newline="")


def cmd_init(args: argparse.Namespace) -> None:
    session = Session.create(args.keystore, _passphrase(confirm=True))
    print(session.identity.fingerprint)
    print(f"Keystore created at {args.keystore}. Keep a backup and never share the passphrase.",
          file=sys.stderr)


def cmd_whoami(args: argparse.Namespace) -> None:
    fp = _session(args).identity.fingerprint
    print(fp)
    print(f"safety number: {safety_number(fp)}\nsafety words: {safety_words(fp)}", file=sys.stderr)


def cmd_coalition_create(args: argparse.Namespace) -> None:
    session = _session(args)
    coalition.create(session, args.server, args.setup_code, args.name)
    print(session.coalition_id)
    print(f"Coalition {args.name!r} created; you are its first admin.", file=sys.stderr)


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
        roster.count(rows, fields, tally)
        roster.write_summary(out, fields, tally)
    elif args.format == "jsonl":
        roster.write_jsonl(rows, out)
    elif args.format == "csv":
        if args.bom:
            out.write("\ufeff")  # so Excel reads the file as UTF-8 (accents, ñ, emoji)
        screen = cast(TextIO, TerminalSafe(out)) if out.isatty() else out  # files keep the data
        roster.write_csv(rows, screen, fields, ids=args.ids)
    else:
        roster.write_table(rows, out, fields)


def cmd_roster(args: argparse.Namespace) -> None:
    _check_roster_options(args)
    session = _synced(args)
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


START_HERE = """\
First time? Do these in order:
  1. pledgebox init                        make your keystore (pick a passphrase you will remember)
  2. pledgebox coalition create ...        start a coalition (or: pledgebox join INVITE)
  3. pledgebox campaign create ...         prints the link to share with students
  4. pledgebox roster CAMPAIGN_ID --summary   see how many pledged, per school

Add --help after any command to see how it works, for example: pledgebox roster --help
Scripts can set PLEDGEBOX_PASSPHRASE instead of typing the passphrase."""

ROSTER_EXAMPLE = """\
Examples:
  pledgebox roster CAMPAIGN_ID --summary                 counts per school, with bars
  pledgebox roster CAMPAIGN_ID --html report.html        a page with a table and charts
  pledgebox roster CAMPAIGN_ID --format csv --bom -o roster.csv   for Excel or Google Sheets

Saved files hold students' answers: only you can open them on this laptop (mode 600).
Keep them off shared drives and delete them when you are done."""


def build_parser() -> argparse.ArgumentParser:
    parser = FriendlyParser(
        prog="pledgebox", formatter_class=HelpFormatter,
        description="The organizers' tool for Pledgebox. Students pledge through a link; what "
        "they send is locked (encrypted) on their phone, and only your coalition's organizers "
        "can unlock it, here on your own laptop.", epilog=START_HERE)
    parser.add_argument("--keystore", type=Path, default=default_keystore_path(),
                        help="the file that holds your keys, locked with your passphrase "
                        "(default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], None], help_text: str,
            parent: Any = sub, epilog: str | None = None) -> argparse.ArgumentParser:
        return add_command(parent, name, func, help_text, epilog)

    add("init", cmd_init, "Make your keystore: the locked file on this laptop that holds your "
        "keys. Do this once. You pick a passphrase; nobody can recover it for you, so remember it.")
    add("whoami", cmd_whoami, "Show your fingerprint (the code that identifies you) and your "
        "safety words: read the words aloud to another organizer so they know it is really you.")

    text = "Start a coalition: the group of organizers who share the keys to your pledges."
    co = sub.add_parser("coalition", help=text, description=text).add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    p = add("create", cmd_coalition_create, "Start a new coalition on a Pledgebox server with the "
            "one-time setup code its operator gave you. You become its first admin.", co,
            epilog='Example:\n  pledgebox coalition create --server https://pledges.example.org '
            '--setup-code CODE --name "Covina Students United"')
    p.add_argument("--server", required=True,
                   help="the server's web address, like https://pledges.example.org (ask its operator)")
    p.add_argument("--setup-code", required=True,
                   help="the one-time code the server's operator gave you (copy it exactly)")
    p.add_argument("--name", required=True,
                   help="your coalition's name; students see it on the pledge page")

    cli_campaigns.register(sub)
    p = add("roster", cmd_roster, "Download a campaign's pledges and unlock them here on your "
            "laptop: every pledge in a table, counts with --summary, or a file to save.",
            epilog=ROSTER_EXAMPLE)
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
    cli_coalition.register(sub)
    cli_people.register(sub, _synced)
    cli_app.register(sub, _session)
    cli_watch.register(sub, _session)
    _keystore_after_commands(sub)
    return parser


def _keystore_after_commands(sub: Any) -> None:
    """Accept --keystore after the command too (`pledgebox roster ID --keystore K`), on every
    command; SUPPRESS keeps the one given before the command when it is not repeated."""
    for parser in sub.choices.values():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _keystore_after_commands(nested[0])
        else:
            parser.add_argument("--keystore", type=Path, default=argparse.SUPPRESS,
                                help="the file that holds your keys (may also come before the command)")


def _quiet_broken_pipe() -> int:
    """The reader left early (`pledgebox roster ID | head -2`): stop quietly, as `cat` does,
    with the status of a process ended by SIGPIPE. Later writes go nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)  # `watch` says 3 (a difference) or 4 (could not check)
        sys.stdout.flush()  # a closed pipe shows here at the latest, not at interpreter exit
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except (UserError, CryptoError) as exc:
        print(f"pledgebox: {printable(str(exc))}", file=sys.stderr)  # may quote the server
        return 1
    except KeyboardInterrupt:
        print("pledgebox: interrupted; nothing more was done.", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0

