"""How every `pledgebox` command opens the keystore: the passphrase (asked on the terminal, or
PLEDGEBOX_PASSPHRASE for scripts), the session, and the sync that warns before the share links
stop. Its own module so the command modules (pledgebox.py, campaigns.py, roster.py, coalition.py,
people.py, app.py, watch.py) all use it without importing each other."""

import argparse
import getpass
import os
import sys
from typing import Any

from organizer import coalition, link_life
from organizer.errors import BadInput, NoKeystore
from organizer.session import Session

PASSPHRASE_ENV = "PLEDGEBOX_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)


def passphrase(confirm: bool = False) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise BadInput(f"No terminal to ask for the passphrase: set {PASSPHRASE_ENV} for scripts.")
    first = getpass.getpass("Keystore passphrase: ")
    if confirm and getpass.getpass("Type it again: ") != first:
        raise BadInput("The two passphrases differ, so nothing was created: run the command again.")
    return first


def open_session(args: argparse.Namespace) -> Session:
    if not args.keystore.exists():  # say so before asking for a passphrase it cannot use
        raise NoKeystore()
    return Session.open(args.keystore, passphrase())


def synced(args: argparse.Namespace) -> Session:
    session = open_session(args)
    warn_link_life(coalition.sync(session))
    return session


def link_life_sentence(life: link_life.LinkLife) -> str:
    if life.stopped:
        return (f"your share links stopped working after {life.last_day}: students cannot pledge "
                "until an admin opens Pledgebox (the app or any command)")
    return (f"your share links work until {life.last_day} unless an admin opens Pledgebox (the "
            "app or any command) before then")


def warn_link_life(me: dict[str, Any]) -> None:
    """From 10 days before the links stop (an admin's sync has renewed them by then)."""
    if me.get("status") != "active":
        return
    life = link_life.link_life(me, coalition.utc_today())
    if life.warn:
        print(f"warning: {link_life_sentence(life)}.", file=sys.stderr)
