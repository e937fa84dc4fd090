"""`pledgebox campaign …`: make, list, show, edit and wipe campaigns (docs/cli.md), added to the
main parser by organizer/cli/pledgebox.py."""

import argparse
import sys
from pathlib import Path
from typing import Any

from organizer import campaign_form, campaigns, coalition, link_life, revisions
from organizer.cli.arguments import add_command, iso_date
from organizer.cli.opening import open_session, synced, warn_link_life
from organizer.errors import BadInput, NeedsAdmin
from organizer.printable import printable

INSTAGRAM_BIO = 150


def _option_count(text: str) -> tuple[str, int]:
    option, _, number = text.partition("=")
    try:
        return option.strip(), int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} should look like covina-high=150") from None


def _new_option(text: str) -> tuple[str, str]:
    question, _, label = text.partition("=")
    if not question.strip() or not label.strip():
        raise argparse.ArgumentTypeError("give QUESTION=LABEL, like school=Baldwin Park High")
    return question.strip(), label.strip()


def cmd_campaign_create(args: argparse.Namespace) -> None:
    session = synced(args)
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
    for item in campaigns.list_campaigns(synced(args)):
        d = {k: printable(str(v)) for k, v in item["descriptor"].items()}
        print(f"{printable(item['campaign_id'])}  {d['action_date']}  closes {d['closes_at']}  "
              f"deleted after {d['delete_after']}  {printable(str(item['pledge_count']))} pledges  "
              f"{d['title']}")


def cmd_campaign_show(args: argparse.Namespace) -> None:
    session = open_session(args)
    me = coalition.sync(session)
    warn_link_life(me)
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


def cmd_campaign_edit(args: argparse.Namespace) -> None:
    session = synced(args)
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
    session = synced(args)
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

EDIT_HELP = ("Change a published campaign without a new link: its text, its dates, and new choices "
             "for a question (a new school). What a question or an existing choice means never changes, "
             "so pledges already sent keep their meaning.")
EDIT_EXAMPLE = ('Example:\n  pledgebox campaign edit CAMPAIGN_ID --title "Walkout Feb 27" '
                '--add-option "school=Baldwin Park High | Preparatoria Baldwin Park"')


def _campaign_id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("campaign_id", metavar="CAMPAIGN_ID",
                   help="which campaign (see `pledgebox campaign list`)")


def _create_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--title", required=True,
                   help='the big title students see first, e.g. "Walkout Feb 27"')
    p.add_argument("--description", default="",
                   help="a sentence or two about the action: what, where, why")
    p.add_argument("--action-date", type=iso_date, required=True, metavar="YYYY-MM-DD",
                   help="the day of the action, e.g. 2027-02-27")
    p.add_argument("--closes", type=iso_date, required=True, metavar="YYYY-MM-DD",
                   help="the last day students can pledge")
    p.add_argument("--delete-after", type=iso_date, required=True, metavar="YYYY-MM-DD",
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


def _edit_parser(p: argparse.ArgumentParser) -> None:
    _campaign_id_argument(p)
    p.add_argument("--title", help="the new title")
    p.add_argument("--description", help="the new description")
    p.add_argument("--title-es", metavar="TEXT", help="the new Spanish title")
    p.add_argument("--description-es", metavar="TEXT", help="the new Spanish description")
    p.add_argument("--action-date", type=iso_date, metavar="YYYY-MM-DD", help="the new action day")
    p.add_argument("--closes", type=iso_date, metavar="YYYY-MM-DD", help="the new last day to pledge")
    p.add_argument("--delete-after", type=iso_date, metavar="YYYY-MM-DD",
                   help="the new deletion day (within the server's limit)")
    p.add_argument("--add-option", type=_new_option, action="append", metavar="QUESTION=LABEL",
                   help='a new choice for a choice question, e.g. "school=Baldwin Park High"; '
                   "repeat for others")


def register(sub: Any) -> None:
    """Add `pledgebox campaign` and its subcommands to the main parser's commands."""
    text = "Make and manage campaigns (one campaign = one action students can pledge to)."
    ca = sub.add_parser("campaign", help=text, description=text).add_subparsers(
        dest="sub", required=True, metavar="SUBCOMMAND")
    _create_parser(add_command(
        ca, "create", cmd_campaign_create, "Make a new campaign and print the link to share with "
        "students. They open it, fill in the form, and send a pledge only your coalition can "
        "read.", epilog=CAMPAIGN_EXAMPLE))
    add_command(ca, "list", cmd_campaign_list, "List your coalition's campaigns that are still "
                "live, with how many pledges each has.")
    _campaign_id_argument(add_command(ca, "show", cmd_campaign_show, "Show one campaign's dates, "
                                      "how many pledged, and its share link again."))
    _edit_parser(add_command(ca, "edit", cmd_campaign_edit, EDIT_HELP, epilog=EDIT_EXAMPLE))
    p = add_command(ca, "wipe", cmd_campaign_wipe, "Delete a campaign and all its pledges right "
                    "now, for good. Nobody can get them back.")
    _campaign_id_argument(p)
    p.add_argument("--yes", action="store_true", help="do not ask \"are you sure?\" (for scripts)")
