"""`pledgebox announce` and `pledgebox tally`: the commands for reaching students, added to the
main parser."""

import argparse
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from organizer import announce, campaigns, roster, tally
from organizer.cli.arguments import iso_date
from organizer.errors import BadInput
from organizer.printable import printable
from organizer.session import Session

Synced = Callable[[argparse.Namespace], Session]


def cmd_announce(synced: Synced, args: argparse.Namespace) -> None:
    if sum([args.message is not None, args.list, args.delete is not None]) != 1 or (
            args.es is not None and args.message is None):
        raise BadInput("Give a MESSAGE in quotes to post, or --list, or --delete ANNOUNCEMENT_ID "
                       "(one of them); see `pledgebox announce --help`.")
    if args.list:
        _list_announcements(synced(args), args.campaign_id)
        return
    if args.delete:
        session = synced(args)
        campaigns.find(session, args.campaign_id)
        announce.delete(session, args.campaign_id, args.delete)
        print("Deleted. Students no longer see it when they open or reload the page.",
              file=sys.stderr)
        return
    session = synced(args)
    body = announce.for_campaign(session, args.campaign_id, args.message, args.es, args.until)
    announcement_id = announce.post(session, args.campaign_id, body)
    print(announcement_id)
    print("Posted. Students see it at the top of the campaign page when they open the link "
          "(it is signed, so nobody else can post as you). Posted by mistake? "
          f"pledgebox announce {args.campaign_id} --delete {announcement_id}", file=sys.stderr)


def cmd_tally(synced: Synced, args: argparse.Namespace) -> None:
    """The tally body alone on one stdout line; what was left out on stderr."""
    session = synced(args)
    stats = roster.Tally()
    body = tally.count(session, args.campaign_id, stats)
    if args.publish:
        tally.publish(session, args.campaign_id, body)
    print(body.decode("utf-8"), flush=True)
    print(f"{stats.opened} pledges opened", file=sys.stderr)
    roster.report_left_out(stats)
    if args.publish:
        print("Published: students who open the link now see these counts, signed by your "
              "coalition.", file=sys.stderr)


def _list_announcements(session: Session, campaign_id: str) -> None:
    """One line each on stdout: id, day, the English text (and the Spanish one, indented)."""
    campaigns.find(session, campaign_id)
    posted, bad = announce.list_posted(session, campaign_id)
    for item in posted:
        print(f"{item.announcement_id}  {item.day}  {printable(item.message.get('en', ''))}")
        if "es" in item.message:
            print(f"{'':22}  {'es':10}  {printable(item.message['es'])}")
    print(f"{len(posted)} announcement{'s' if len(posted) != 1 else ''}", file=sys.stderr)
    if bad:
        print(f"warning: {bad} announcements are not signed by your coalition; students' browsers "
              "do not show them, but tell your coalition: someone tampered with the server.",
              file=sys.stderr)


def register(sub: Any, synced: Synced) -> None:
    """Add the commands; `synced` opens the keystore and syncs, as every command of pledgebox.py does."""
    text = ("Post a short news update that students see on the campaign page (and under their "
            "receipt), signed so nobody else can fake it. Also lists and deletes them.")
    p = sub.add_parser("announce", help=text, description=text + " Students do not have to leave "
                       "any contact details for this to reach them: they just open the link again.",
                       epilog='Examples:\n  pledgebox announce CAMPAIGN_ID "We meet at the '
                       'flagpole at 10am" --es "Nos vemos en el asta de la bandera a las 10"\n'
                       "  pledgebox announce CAMPAIGN_ID --list\n"
                       "  pledgebox announce CAMPAIGN_ID --delete ANNOUNCEMENT_ID",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=partial(cmd_announce, synced))
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    p.add_argument("message", metavar="MESSAGE", nargs="?",
                   help="what to say, in quotes; at most 1000 characters")
    p.add_argument("--es", metavar="SPANISH",
                   help="the same message in Spanish, shown to students who read the page in Spanish")
    p.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD",
                   help="the last day students see it (default: the campaign's delete-after day)")
    p.add_argument("--list", action="store_true",
                   help="show this campaign's announcements (id, day, text) instead of posting")
    p.add_argument("--delete", metavar="ANNOUNCEMENT_ID",
                   help="take back an announcement (admins), e.g. one with a wrong time or place")
    text = ("Count the pledges (opened here) as the published tally of protocol 1.1: one JSON line. "
            "With a threshold, schools with 1 to 4 pledges show as \"few\", never as a number.")
    t = sub.add_parser("tally", help=text, description=text,
                       epilog="Examples:\n  pledgebox tally CAMPAIGN_ID            see the counts\n"
                       "  pledgebox tally CAMPAIGN_ID --publish  sign them and show them on the "
                       "campaign page (admins)", formatter_class=argparse.RawDescriptionHelpFormatter)
    t.set_defaults(func=partial(cmd_tally, synced))
    t.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")
    t.add_argument("--publish", action="store_true",
                   help="sign the counts with your coalition's key and upload them, so students "
                   "see them on the campaign page (admins)")
