"""`pledgebox`: the organizer's command-line tool (see docs/cli.md for every command)."""

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from crypto import CryptoError
from crypto.identity import safety_words
from organizer import campaigns, coalition, roster
from organizer.errors import BadInput, UserError
from organizer.session import Session, default_keystore_path

PASSPHRASE_ENV = "PLEDGEBOX_PASSPHRASE"


def _passphrase(confirm: bool = False) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise BadInput(f"No terminal to ask for the passphrase: set {PASSPHRASE_ENV} for scripts.")
    first = getpass.getpass("Keystore passphrase: ")
    if confirm and getpass.getpass("Type it again: ") != first:
        raise BadInput("The two passphrases differ; nothing was created.")
    return first


def _session(args: argparse.Namespace) -> Session:
    return Session.open(args.keystore, _passphrase())


def _synced(args: argparse.Namespace) -> Session:
    session = _session(args)
    coalition.sync(session)
    return session


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-02-27") from None


def cmd_init(args: argparse.Namespace) -> None:
    session = Session.create(args.keystore, _passphrase(confirm=True))
    print(session.identity.fingerprint)
    print(f"Keystore created at {args.keystore}. Keep a backup and never share the passphrase.",
          file=sys.stderr)


def cmd_whoami(args: argparse.Namespace) -> None:
    fp = _session(args).identity.fingerprint
    print(fp)
    print(f"safety words: {safety_words(fp)}", file=sys.stderr)


def cmd_coalition_create(args: argparse.Namespace) -> None:
    session = _session(args)
    coalition.create(session, args.server, args.setup_code, args.name)
    print(session.coalition_id)
    print(f"Coalition {args.name!r} created; you are its first admin.", file=sys.stderr)


def cmd_campaign_create(args: argparse.Namespace) -> None:
    session = _synced(args)
    fields = [campaigns.parse_field(spec) for spec in (args.field or campaigns.DEFAULT_FIELDS)]
    descriptor = campaigns.build_descriptor(session, args.title, args.description,
                                            args.action_date, args.closes, args.delete_after,
                                            fields)
    campaign_id = campaigns.create(session, descriptor)
    link = campaigns.share_link(session, campaign_id)
    print(link)
    if args.qr:
        written = campaigns.write_qr(link, args.qr)
        print("QR code written to " + " and ".join(str(p) for p in written), file=sys.stderr)


def cmd_campaign_list(args: argparse.Namespace) -> None:
    for item in campaigns.list_campaigns(_synced(args)):
        d = item["descriptor"]
        print(f"{item['campaign_id']}  {d['action_date']}  closes {d['closes_at']}  "
              f"deleted after {d['delete_after']}  {item['pledge_count']} pledges  {d['title']}")


def cmd_campaign_show(args: argparse.Namespace) -> None:
    session = _synced(args)
    item = campaigns.find(session, args.campaign_id)
    d = item["descriptor"]
    print(f"{d['title']}\naction date: {d['action_date']}\ncloses: {d['closes_at']}\n"
          f"deleted after: {d['delete_after']}\npledges: {item['pledge_count']}\n"
          f"share link: {campaigns.share_link(session, args.campaign_id)}")


def cmd_campaign_wipe(args: argparse.Namespace) -> None:
    session = _synced(args)
    campaigns.find(session, args.campaign_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise BadInput("Add --yes to wipe without a question (nothing was deleted).")
        answer = input(f"Delete campaign {args.campaign_id} and all its pledges for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise BadInput("Nothing was deleted.")
    campaigns.wipe(session, args.campaign_id)
    print(f"Campaign {args.campaign_id} and its pledges are deleted.", file=sys.stderr)


def cmd_roster(args: argparse.Namespace) -> None:
    session = _synced(args)
    item = campaigns.find(session, args.campaign_id)
    fields = item["descriptor"]["fields"]
    tally = roster.Tally()
    rows = roster.pledges(session, args.campaign_id, tally, item["pledge_count"])
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.summary:
            roster.count(rows, fields, tally)
            roster.write_summary(out, fields, tally)
        elif args.format == "jsonl":
            roster.write_jsonl(rows, out)
        elif args.format == "csv":
            roster.write_csv(rows, out, [f["id"] for f in fields])
        else:
            roster.write_table(rows, out, fields)
    finally:
        if args.output:
            out.close()
    print(f"{tally.opened} pledges opened", file=sys.stderr)
    if tally.unopened:
        print(f"warning: {tally.unopened} pledges could not be opened (damaged, or not of this "
              "campaign) and were left out", file=sys.stderr)
    if tally.missing_key:
        print(f"warning: {tally.missing_key} pledges use a key version you do not hold and were "
              "left out", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pledgebox", description="Organize pledges safely: everything students send is "
        "encrypted so only your coalition's organizers can read it, on their own laptops.")
    parser.add_argument("--keystore", type=Path, default=default_keystore_path(),
                        help="your keystore file (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], None], help_text: str,
            parent: Any = sub) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    add("init", cmd_init, "Create your keystore and your organizer identity (do this once).")
    add("whoami", cmd_whoami, "Show your fingerprint (stdout) and safety words (stderr).")

    co = sub.add_parser("coalition", help="Create a coalition.").add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    p = add("create", cmd_coalition_create, "Create a coalition with a setup code from the server's operator.", co)
    p.add_argument("--server", required=True, help="the server's address, e.g. https://pledges.example.org")
    p.add_argument("--setup-code", required=True, help="the one-time code the operator gave you")
    p.add_argument("--name", required=True, help="the coalition's public name")

    ca = sub.add_parser("campaign", help="Create, list, show or wipe campaigns.").add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    p = add("create", cmd_campaign_create, "Create a campaign and print its share link.", ca)
    p.add_argument("--title", required=True, help="what students see at the top, e.g. 'Walkout Feb 27'")
    p.add_argument("--description", default="", help="a sentence or two about the action")
    p.add_argument("--action-date", type=_date, required=True, help="the day of the action (YYYY-MM-DD)")
    p.add_argument("--closes", type=_date, required=True, help="last day pledges are accepted")
    p.add_argument("--delete-after", type=_date, required=True, help="everything is deleted after this day")
    p.add_argument("--field", action="append", help="a form field: id[!]:type:Label|Etiqueta[:Option A,Option B] "
                   "(type: text, choice, checkbox, contact; ! = required). Repeat for more fields.")
    p.add_argument("--qr", type=Path, help="also write the share link as a QR code (PNG and SVG) here")
    add("list", cmd_campaign_list, "List your coalition's live campaigns.", ca)
    p = add("show", cmd_campaign_show, "Show one campaign and its share link.", ca)
    p.add_argument("campaign_id")
    p = add("wipe", cmd_campaign_wipe, "Delete a campaign and all its pledges now, for good.", ca)
    p.add_argument("campaign_id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add("roster", cmd_roster, "Download and decrypt a campaign's pledges on this laptop.")
    p.add_argument("campaign_id")
    p.add_argument("--format", choices=["table", "csv", "jsonl"], default="table")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of the screen")
    p.add_argument("--summary", action="store_true", help="show counts per school and per choice instead")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (UserError, CryptoError) as exc:
        print(f"pledgebox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pledgebox: interrupted; nothing more was done.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
