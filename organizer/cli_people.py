"""`pledgebox announce`: the commands for reaching students, added to the main parser."""

import argparse
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from organizer import announce, campaigns
from organizer.coalition import utc_today
from organizer.session import Session

Synced = Callable[[argparse.Namespace], Session]


def cmd_announce(synced: Synced, args: argparse.Namespace) -> None:
    body = announce.build_announcement(args.campaign_id, args.message, args.es, utc_today())
    session = synced(args)
    campaigns.find(session, args.campaign_id)
    announcement_id = announce.post(session, args.campaign_id, body)
    print(announcement_id)
    print("Posted. Students see it at the top of the campaign page when they open the link "
          "(it is signed, so nobody else can post as you).", file=sys.stderr)


def register(sub: Any, synced: Synced) -> None:
    """Add the commands; `synced` opens the keystore and syncs, as every command of cli.py does."""
    text = ("Post a short news update that students see on the campaign page (and under their "
            "receipt), signed so nobody else can fake it.")
    p = sub.add_parser("announce", help=text, description=text + " Students do not have to leave "
                       "any contact details for this to reach them: they just open the link again.",
                       epilog='Example: pledgebox announce CAMPAIGN_ID "We meet at the flagpole '
                       'at 10am" --es "Nos vemos en el asta de la bandera a las 10"')
    p.set_defaults(func=partial(cmd_announce, synced))
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    p.add_argument("message", metavar="MESSAGE",
                   help="what to say, in quotes; at most 1000 characters")
    p.add_argument("--es", metavar="SPANISH",
                   help="the same message in Spanish, shown to students who read the page in Spanish")
