"""`pledgebox watch`: the page watch from the command line (docs/page-watch.md, docs/cli.md)."""

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from organizer.errors import BadInput, ServerUnreachable
from organizer.session import Session
from organizer.watch import service
from organizer.watch.check import run_round
from organizer.watch.http import Proxy
from organizer.watch.rounds import Round

Opener = Callable[[argparse.Namespace], Session]

WHAT_TO_DO = (
    "What to do now: stop sharing the campaign's link; tell students not to pledge until you say it "
    "is safe; tell the other organizers and the people who run the server. The evidence is saved in "
    "the folders named above. Open `pledgebox app` for a ready-to-post message, or read "
    "docs/page-watch.md.")


def _report(result: Round) -> int:
    for finding in result.findings:
        print(finding.line(), flush=True)
    for line in result.unreachable:
        print(f"could not check: {line}", file=sys.stderr)
    saved = sorted({str(f.evidence) for f in result.findings if f.evidence})
    for folder in saved:
        print(f"evidence: {folder}", file=sys.stderr)
    code = service.status_code(result)
    if code == 3:
        print(f"ALARM: {len(result.findings)} difference(s) from what this release serves. "
              f"{WHAT_TO_DO}", file=sys.stderr)
    elif code == 4:
        print("Could not check: the server did not answer every request (this is not an alarm; "
              "try again later).", file=sys.stderr)
    else:
        print(f"Checked {result.visits} visit(s), {result.requests} requests: every page, header "
              "and file was what this release serves. One laptop cannot prove the page is safe "
              "for every student (a server could single one out).", file=sys.stderr)
    return code


def cmd_watch(opener: Opener, args: argparse.Namespace) -> int:
    try:
        proxy = Proxy.parse(args.proxy) if args.proxy else None
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    session = opener(args)
    try:
        p = service.plan(session, args.campaign_ids)
    except ServerUnreachable as exc:
        print(f"Could not check: {exc} (this is not an alarm).", file=sys.stderr)
        return 4
    if not p.target.campaign_ids:
        print("Your coalition has no live campaign to watch.", file=sys.stderr)
        return 0
    if args.once:
        return _report(run_round(p.target, proxy=proxy, spread=args.spread or 0.0))
    worst = [0]
    # Ctrl-C (or a script's SIGINT) ends the watch even when it was started with SIGINT ignored,
    # as a shell's background job is: the child inherits the ignoring, and Python then installs
    # no KeyboardInterrupt (seen: a full test run started in the background hung here). The app
    # does the same (organizer/app/serve.py).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_round(result: Round) -> None:
        worst[0] = max(worst[0], _report(result))

    service.watch_forever(lambda: service.plan(session, args.campaign_ids), service.WatchState(),
                          threading.Event(), proxy=proxy, on_round=on_round, spread=args.spread)
    return worst[0]


def register(sub: Any, opener: Opener) -> None:
    text = ("Fetch the student pages as students' phones do and compare them with this release "
            "(exit 3 when anything differs, 4 when the server could not be checked).")
    p = sub.add_parser("watch", help=text, description=text)
    p.set_defaults(func=lambda args: cmd_watch(opener, args))
    p.add_argument("campaign_ids", nargs="*", metavar="CAMPAIGN_ID",
                   help="the campaigns to watch (default: every live campaign of your coalition)")
    p.add_argument("--once", action="store_true", help="make one round and exit")
    p.add_argument("--proxy", metavar="URL",
                   help="send every request through this SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 "
                   "(Tor: a new circuit each round)")
    p.add_argument("--spread", type=float, default=None, metavar="SECONDS",
                   help="spread each round's visits over about this many seconds (default: none "
                   "with --once; otherwise about a third of the pause before the next round)")
