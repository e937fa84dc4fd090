"""`pledgebox app` (the organizer app in a browser tab) and `pledgebox server` (the saved address)."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from organizer import coalition
from organizer.session import Session, default_keystore_path

Opener = Callable[[argparse.Namespace], Session]


def cmd_app(args: argparse.Namespace) -> None:
    from organizer.app.serve import serve  # noqa: PLC0415 (Flask loads only for this command)

    again = "pledgebox app"
    if Path(args.keystore) != default_keystore_path():
        again = f"pledgebox --keystore {args.keystore} app"
    serve(args.keystore, args.port, open_browser=not args.no_browser, again=again)


def cmd_server_show(opener: Opener, args: argparse.Namespace) -> None:
    session = opener(args)
    print(session.data.get("server") or "")


def cmd_server_set(opener: Opener, args: argparse.Namespace) -> None:
    address = coalition.set_server(opener(args), args.url)
    print(f"Saved: this keystore now talks to {address}.", file=sys.stderr)


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 1 to 65535 (0 picks a free one)")
    return value


def register(sub: Any, opener: Opener) -> None:
    """Add `app` and `server`; `opener` unlocks the keystore as every command of pledgebox.py does."""
    text = ("Open the organizer app: everything this tool does, as pages in your web browser, "
            "served from this laptop only.")
    p = sub.add_parser("app", help=text, description=text)
    p.set_defaults(func=cmd_app)
    p.add_argument("--port", type=port_number, default=None,
                   help="the port on 127.0.0.1 to listen on (default: the last run's when it is "
                        "free, so bookmarks keep working, else a free one; 0: any free one)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open the browser; just print the address to open")

    text = "Show or change the address of your coalition's Pledgebox server."
    srv = sub.add_parser("server", help=text, description=text).add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    text = "Print the server address this keystore talks to."
    p = srv.add_parser("show", help=text, description=text)
    p.set_defaults(func=lambda args: cmd_server_show(opener, args))
    text = ("Change the server address (the server moved, or a demo restarted on another port); "
            "it is saved only if the server there knows your coalition.")
    p = srv.add_parser("set", help=text, description=text,
                       epilog="Example:\n  pledgebox server set https://pledges.example.org")
    p.set_defaults(func=lambda args: cmd_server_set(opener, args))
    p.add_argument("url", metavar="URL", help="the new address, like https://pledges.example.org")
