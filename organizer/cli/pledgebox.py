"""`pledgebox`: the organizer's command-line tool (see docs/cli.md for every command)."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from crypto import CryptoError
from crypto.identity import safety_number, safety_words
from organizer import coalition
from organizer.cli import app as cli_app
from organizer.cli import campaigns as cli_campaigns
from organizer.cli import coalition as cli_coalition
from organizer.cli import people as cli_people
from organizer.cli import roster as cli_roster
from organizer.cli import watch as cli_watch
from organizer.cli.arguments import HelpFormatter, add_command
from organizer.cli.opening import open_session as _session
from organizer.cli.opening import passphrase as _passphrase
from organizer.cli.opening import synced as _synced
from organizer.errors import UserError
from organizer.printable import printable
from organizer.session import Session, default_keystore_path


class FriendlyParser(argparse.ArgumentParser):
    """argparse that ends each usage mistake with where to look next (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {message}\nTo see what it needs, with examples, run: "
                     f"{self.prog} --help\n")


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


START_HERE = """\
First time? Do these in order:
  1. pledgebox init                        make your keystore (pick a passphrase you will remember)
  2. pledgebox coalition create ...        start a coalition (or: pledgebox join INVITE)
  3. pledgebox campaign create ...         prints the link to share with students
  4. pledgebox roster CAMPAIGN_ID --summary   see how many pledged, per school

Add --help after any command to see how it works, for example: pledgebox roster --help
Scripts can set PLEDGEBOX_PASSPHRASE instead of typing the passphrase."""


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order `pledgebox --help` lists them (docs/cli.md)."""
    parser = FriendlyParser(
        prog="pledgebox", formatter_class=HelpFormatter,
        description="The organizers' tool for Pledgebox. Students pledge through a link; what "
        "they send is locked (encrypted) on their phone, and only your coalition's organizers "
        "can unlock it, here on your own laptop.", epilog=START_HERE)
    parser.add_argument("--keystore", type=Path, default=default_keystore_path(),
                        help="the file that holds your keys, locked with your passphrase "
                        "(default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_command(sub, "init", cmd_init, "Make your keystore: the locked file on this laptop that "
                "holds your keys. Do this once. You pick a passphrase; nobody can recover it for "
                "you, so remember it.")
    add_command(sub, "whoami", cmd_whoami, "Show your fingerprint (the code that identifies you) "
                "and your safety words: read the words aloud to another organizer so they know it "
                "is really you.")

    text = "Start a coalition: the group of organizers who share the keys to your pledges."
    co = sub.add_parser("coalition", help=text, description=text).add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    p = add_command(co, "create", cmd_coalition_create, "Start a new coalition on a Pledgebox "
                    "server with the one-time setup code its operator gave you. You become its "
                    "first admin.", epilog="Example:\n  pledgebox coalition create --server "
                    'https://pledges.example.org --setup-code CODE --name "Covina Students United"')
    p.add_argument("--server", required=True,
                   help="the server's web address, like https://pledges.example.org (ask its operator)")
    p.add_argument("--setup-code", required=True,
                   help="the one-time code the server's operator gave you (copy it exactly)")
    p.add_argument("--name", required=True,
                   help="your coalition's name; students see it on the pledge page")

    cli_campaigns.register(sub)
    cli_roster.register(sub)
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

