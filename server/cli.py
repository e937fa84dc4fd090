"""`pledgebox-server`: run the service, issue setup codes, purge, migrate (for operators)."""

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from server.config import ConfigError, load_config

_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> int:
    m = _DURATION.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError("use a duration like 30m, 24h or 7d")
    return int(m.group(1)) * _UNIT[m.group(2)]


def _app(env: dict[str, str] | None = None) -> Any:
    from server import create_app  # imported late: --help must not touch the database

    return create_app(load_config(env))


def cmd_run(args: argparse.Namespace) -> None:
    from server.gunicorn_app import serve

    env = dict(os.environ)
    if args.demo:
        from fullstack.demo import prepare_demo

        env = prepare_demo(args.demo.resolve(), args.host, args.port, env)
    serve(env, args.host, args.port, args.workers)


def cmd_setup_code(args: argparse.Namespace) -> None:
    import migrations
    from server.db import database
    from server.store.coalitions import issue_setup_code

    app = _app()
    with app.app_context(), database.connection_context():
        migrations.upgrade(database.obj)
        rt = app.extensions["pledgebox"]
        print(issue_setup_code(rt.clock.now(), args.expires))


def cmd_purge(_args: argparse.Namespace) -> None:
    from server.db import database
    from server.retention import purge_expired

    app = _app()
    with app.app_context(), database.connection_context():
        result = purge_expired(app.extensions["pledgebox"].clock)
    print(f"purged {result.campaigns} expired campaigns and {result.pledges} pledges")


def cmd_db(args: argparse.Namespace) -> int:
    import migrations
    from server.db import database

    _app()
    with database.connection_context():
        if args.action == "upgrade":
            ran = migrations.upgrade(database.obj)
            print("applied: " + (", ".join(ran) if ran else "nothing (up to date)"))
            return 0
        waiting = migrations.pending(database.obj)
        print("pending: " + ", ".join(waiting) if waiting else "up to date")
        return 1 if waiting else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pledgebox-server",
                                     description="Run and look after a Pledgebox server.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="Serve Pledgebox (gunicorn, no access log).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--demo", type=Path, metavar="DIR",
                   help="a demo under DIR: SQLite, a demo coalition, keystore and open campaign")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("setup-code",
                       help="Print a one-time code that lets an organizer create a coalition.")
    p.add_argument("--expires", type=_duration, default=_duration("24h"),
                   help="e.g. 30m, 24h, 7d (default 24h)")
    p.set_defaults(func=cmd_setup_code)
    p = sub.add_parser(
        "purge", help="Delete expired data now (it also happens by itself while the server runs).")
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser("db", help="Apply or check database migrations.")
    p.add_argument("action", choices=["upgrade", "status"])
    p.set_defaults(func=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"pledgebox-server: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"pledgebox-server: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
