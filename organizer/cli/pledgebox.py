"""`pledgebox`: the organizer's command-line tool (see docs/cli.md for every command)."""

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

from crypto import CryptoError
from crypto.identity import safety_number, safety_words
from organizer import (
    campaign_form,
    campaigns,
    coalition,
    link_life,
    report,
    revisions,
    roster,
)
from organizer.cli import app as cli_app
from organizer.cli import coalition as cli_coalition
from organizer.cli import people as cli_people
from organizer.cli import watch as cli_watch
from organizer.cli.opening import open_session as _session
from organizer.cli.opening import passphrase as _passphrase
from organizer.cli.opening import synced as _synced
from organizer.cli.opening import warn_link_life as _warn_link_life
from organizer.errors import BadInput, NeedsAdmin, UserError
from organizer.printable import TerminalSafe, printable
from organizer.session import Session, default_keystore_path
from organizer.tally import zone_today

INSTAGRAM_BIO = 150


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-line descriptions to the terminal; keeps multi-line examples as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


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


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-02-27") from None


def _option_count(text: str) -> tuple[str, int]:
    option, _, number = text.partition("=")
    try:
        return option.strip(), int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} should look like covina-high=150") from None


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


def cmd_campaign_create(args: argparse.Namespace) -> None:
    session = _synced(args)
    fields = campaign_form.cli_fields(args.school, args.field)
    spec = campaigns.CampaignSpec(
        title=args.title, description=args.description, action_date=args.action_date,
        closes=args.closes, delete_after=args.delete_after, fields=fields,
        title_es=args.title_es, description_es=args.description_es, time_zone=args.time_zone,
        threshold=args.threshold, threshold_field=args.threshold_field,
        per_option=dict(args.threshold_option) if args.threshold_option else None)
    descriptor = campaigns.build_descriptor(session, spec)
    campaign_id = campaigns.create(session, descriptor)
    link = campaigns.share_link(session, campaign_id)
    print(link)
    if len(link) > INSTAGRAM_BIO:
        print(f"note: this link has {len(link)} characters, more than an Instagram bio takes "
              f"({INSTAGRAM_BIO}); post it in a story or use the QR code (--qr) instead.",
              file=sys.stderr)
    if args.qr:
        written = campaigns.write_qr(link, args.qr)
        print("QR code written to " + " and ".join(str(p) for p in written), file=sys.stderr)


def cmd_campaign_list(args: argparse.Namespace) -> None:
    for item in campaigns.list_campaigns(_synced(args)):
        d = {k: printable(str(v)) for k, v in item["descriptor"].items()}
        print(f"{printable(item['campaign_id'])}  {d['action_date']}  closes {d['closes_at']}  "
              f"deleted after {d['delete_after']}  {printable(str(item['pledge_count']))} pledges  "
              f"{d['title']}")


def cmd_campaign_show(args: argparse.Namespace) -> None:
    session = _session(args)
    me = coalition.sync(session)
    _warn_link_life(me)
    life = link_life.link_life(me, coalition.utc_today())
    item = campaigns.find(session, args.campaign_id)
    d = {k: printable(str(v)) for k, v in item["descriptor"].items()}
    threshold = item["descriptor"].get("threshold")
    print(f"{d['title']}\naction date: {d['action_date']}\ncloses: {d['closes_at']}\n"
          f"deleted after: {d['delete_after']}\n"
          f"time zone: {d.get('time_zone', 'UTC')} (the dates end at midnight there)\n"
          + (f"threshold: {printable(str(threshold['count']))} pledges per "
             f"{printable(str(threshold['field']))}\n" if isinstance(threshold, dict) else "")
          + f"pledges: {printable(str(item['pledge_count']))}\n"
          f"link works until: {life.last_day} (if no admin opens Pledgebox before then; "
          "each time an admin does, it moves later)\n"
          f"share link: {campaigns.share_link(session, args.campaign_id)}")


EDIT_HELP = ("Change a published campaign without a new link: its text, its dates, and new choices "
             "for a question (a new school). What a question or an existing choice means never changes, "
             "so pledges already sent keep their meaning.")
EDIT_EXAMPLE = ('Example:\n  pledgebox campaign edit CAMPAIGN_ID --title "Walkout Feb 27" '
                '--add-option "school=Baldwin Park High | Preparatoria Baldwin Park"')


def _edit_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    p.add_argument("--title", help="the new title")
    p.add_argument("--description", help="the new description")
    p.add_argument("--title-es", metavar="TEXT", help="the new Spanish title")
    p.add_argument("--description-es", metavar="TEXT", help="the new Spanish description")
    p.add_argument("--action-date", type=_date, metavar="YYYY-MM-DD", help="the new action day")
    p.add_argument("--closes", type=_date, metavar="YYYY-MM-DD", help="the new last day to pledge")
    p.add_argument("--delete-after", type=_date, metavar="YYYY-MM-DD",
                   help="the new deletion day (within the server's limit)")
    p.add_argument("--add-option", type=_new_option, action="append", metavar="QUESTION=LABEL",
                   help='a new choice for a choice question, e.g. "school=Baldwin Park High"; '
                   "repeat for others")


def _new_option(text: str) -> tuple[str, str]:
    question, _, label = text.partition("=")
    if not question.strip() or not label.strip():
        raise argparse.ArgumentTypeError("give QUESTION=LABEL, like school=Baldwin Park High")
    return question.strip(), label.strip()


def cmd_campaign_edit(args: argparse.Namespace) -> None:
    session = _synced(args)
    now = revisions.Revision.of(campaigns.find(session, args.campaign_id)["descriptor"])
    added: dict[str, str] = {}
    for question, label in args.add_option or []:
        added[question] = added.get(question, "") + label + "\n"
    change = revisions.Revision(
        title=args.title if args.title is not None else now.title,
        description=args.description if args.description is not None else now.description,
        action_date=args.action_date or now.action_date, closes=args.closes or now.closes,
        delete_after=args.delete_after or now.delete_after,
        title_es=args.title_es if args.title_es is not None else now.title_es,
        description_es=args.description_es if args.description_es is not None else now.description_es,
        new_options=added)
    new = revisions.publish_revision(session, args.campaign_id, change)
    print(f"Campaign {args.campaign_id} is now at version {new['revision']}; its link stays the same.",
          file=sys.stderr)


def cmd_campaign_wipe(args: argparse.Namespace) -> None:
    session = _synced(args)
    campaigns.find(session, args.campaign_id)
    if session.signing_key() is None:  # refuse members before asking them anything
        raise NeedsAdmin("Only admins can wipe a campaign; ask one of your coalition's admins.")
    if not args.yes:
        if not sys.stdin.isatty():
            raise BadInput("Add --yes to wipe without a question (nothing was deleted).")
        answer = input(f"Delete campaign {args.campaign_id} and all its pledges for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise BadInput("Nothing was deleted.")
    campaigns.wipe(session, args.campaign_id)
    print(f"Campaign {args.campaign_id} and its pledges are deleted.", file=sys.stderr)


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

CAMPAIGN_EXAMPLE = """\
Example:
  pledgebox campaign create --title "Walkout for safe schools" \\
    --action-date 2027-02-27 --closes 2027-02-26 --delete-after 2027-03-13 \\
    --field "school!:choice:Your school|Tu escuela:Covina High,Northview High" \\
    --field "help:checkbox:I want to help organize|Quiero ayudar a organizar" \\
    --qr walkout

Without --field the form asks for the school and has an "I want to help" box.
Ask for names or contact details only if you really need them: a leaked list can
hurt students. Write labels as English|Español so the page works in both."""

ROSTER_EXAMPLE = """\
Examples:
  pledgebox roster CAMPAIGN_ID --summary                 counts per school, with bars
  pledgebox roster CAMPAIGN_ID --html report.html        a page with a table and charts
  pledgebox roster CAMPAIGN_ID --format csv --bom -o roster.csv   for Excel or Google Sheets

Saved files hold students' answers: only you can open them on this laptop (mode 600).
Keep them off shared drives and delete them when you are done."""


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 (one list of every command)
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
        p: argparse.ArgumentParser = parent.add_parser(
            name, help=help_text, description=help_text, epilog=epilog,
            formatter_class=HelpFormatter)
        p.set_defaults(func=func)
        return p

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

    text = "Make and manage campaigns (one campaign = one action students can pledge to)."
    ca = sub.add_parser("campaign", help=text, description=text).add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    p = add("create", cmd_campaign_create, "Make a new campaign and print the link to share with "
            "students. They open it, fill in the form, and send a pledge only your coalition can "
            "read.", ca, epilog=CAMPAIGN_EXAMPLE)
    p.add_argument("--title", required=True,
                   help='the big title students see first, e.g. "Walkout Feb 27"')
    p.add_argument("--description", default="",
                   help="a sentence or two about the action: what, where, why")
    p.add_argument("--action-date", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="the day of the action, e.g. 2027-02-27")
    p.add_argument("--closes", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="the last day students can pledge")
    p.add_argument("--delete-after", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="after this day the server deletes the campaign and every pledge; "
                   "pick the earliest day you can")
    p.add_argument("--field", action="append", metavar="SPEC",
                   help="one question on the form: ID[!]:TYPE:English|Español[:Option 1,Option 2]. "
                   "TYPE is text, choice, checkbox or contact; a ! after the ID makes it "
                   "required. Repeat --field for each question.")
    p.add_argument("--school", action="append", metavar="NAME",
                   help='a school students pick from, as "Covina High" or with its Spanish name '
                   '"Covina High | Preparatoria Covina"; repeat for each school. The form then '
                   'asks for the school from this list and has the "I want to help organize" box, '
                   "as the app's wizard does; --field adds more questions.")
    p.add_argument("--title-es", metavar="TEXT", help="the title in Spanish, shown to students "
                   "whose browser is set to Spanish")
    p.add_argument("--description-es", metavar="TEXT", help="the description in Spanish")
    p.add_argument("--time-zone", metavar="ZONE",
                   help="the time zone the dates are read in, like America/Los_Angeles "
                   f"(default: this laptop's, {campaigns.local_zone()})")
    p.add_argument("--threshold", type=int, metavar="N",
                   help="safety in numbers: the action goes ahead at a school once N students "
                   "there have pledged (published counts show the progress)")
    p.add_argument("--threshold-field", default="school", metavar="ID",
                   help="the required choice field the threshold counts (default: school)")
    p.add_argument("--threshold-option", type=_option_count, action="append",
                   metavar="OPTION=N", help="a different number for one option, e.g. "
                   "covina-high=150; repeat for others")
    p.add_argument("--qr", type=Path, metavar="FILE",
                   help="also save the link as a QR code: FILE.png (for posts) and FILE.svg "
                   "(for printing)")
    add("list", cmd_campaign_list, "List your coalition's campaigns that are still live, with "
        "how many pledges each has.", ca)
    p = add("show", cmd_campaign_show, "Show one campaign's dates, how many pledged, and its "
            "share link again.", ca)
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    _edit_parser(add("edit", cmd_campaign_edit, EDIT_HELP, ca, epilog=EDIT_EXAMPLE))
    p = add("wipe", cmd_campaign_wipe, "Delete a campaign and all its pledges right now, for "
            "good. Nobody can get them back.", ca)
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    p.add_argument("--yes", action="store_true", help="do not ask \"are you sure?\" (for scripts)")

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

