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

    env = dict(os.environ)
    if args.demo:
        from fullstack.demo import demo_env

        if not (args.demo / "demo.json").is_file():
            raise ConfigError(f"{args.demo} holds no demo: start one with `pledgebox-server run --demo DIR`")
        env = demo_env(args.demo.resolve(), env)
    app = _app(env)
    with app.app_context(), database.connection_context():
        migrations.upgrade(database.obj)
        rt = app.extensions["pledgebox"]
        code = issue_setup_code(rt.clock.now(), args.expires)
    # Said on stderr, so scripts reading the code from stdout are unaffected.
    where = f"the demo in {args.demo}" if args.demo else "the server"
    print(f"For {where} whose database is {shown_url(rt.config.database_url)}", file=sys.stderr)
    print(code)


def shown_url(url: str) -> str:
    """A database URL fit for a terminal: any password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


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


RUN_DESCRIPTION = """\
Serve Pledgebox with gunicorn. Nothing about clients is logged (no access log); migrations are
applied at start-up; expired data is purged in the background. Put HTTPS in front (Caddy or
nginx: docs/deploy.md) and set PLEDGEBOX_TRUSTED_PROXIES=1 so rate limits see the client's network."""

RUN_ENVIRONMENT = """\
environment (all optional; docs/cli.md has the full table):
  PLEDGEBOX_INSTANCE_PATH           the data folder (default: ./instance)
  PLEDGEBOX_DATABASE_URL            sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB
                                    (default: a SQLite file in the data folder)
  PLEDGEBOX_RATELIMIT_STORAGE       memory:// (default: each worker counts alone) or
                                    redis://HOST:PORT/N (counts shared by all workers and servers)
  PLEDGEBOX_RATELIMIT_KEY_FILE      servers sharing Redis: the 0600 file holding their shared
                                    rate-limit key (keep it on tmpfs, e.g. /run)
  PLEDGEBOX_RATELIMIT_PREFIX        Redis key prefix (default pledgebox)
  PLEDGEBOX_RATELIMIT_PER_NETWORK   pledges per client network
                                    (default "120 per minute;2000 per hour;6000 per day")
  PLEDGEBOX_RATELIMIT_PER_CAMPAIGN  pledges per campaign
                                    (default "600 per minute;6000 per hour;30000 per day")
  PLEDGEBOX_TRUSTED_PROXIES         reverse-proxy hops whose X-Forwarded-For/-Proto to trust
                                    (default 0; 1 behind Caddy or nginx)
  PLEDGEBOX_MAX_RETENTION_DAYS      latest delete-after a campaign may ask for, counted from
                                    its action date (default 30)
  PLEDGEBOX_PURGE_INTERVAL_SECONDS  how often expired data is purged (default 300)
tests only, never in production: PLEDGEBOX_RATELIMITS=0, PLEDGEBOX_PURGE_IN_BACKGROUND=0,
  PLEDGEBOX_CLOCK_OFFSET_FILE (a file of days added to today's date)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pledgebox-server",
                                     description="Run and look after a Pledgebox server.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="Serve Pledgebox (gunicorn, no access log).",
                       description=RUN_DESCRIPTION, epilog=RUN_ENVIRONMENT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: only this machine; behind a "
                        "reverse proxy keep it so; 0.0.0.0 listens on every interface, as in a container)")
    p.add_argument("--port", type=int, default=8080, help="the TCP port to listen on (default 8080)")
    p.add_argument("--workers", type=int, default=2,
                   help="gunicorn worker processes, each serving 4 requests at a time (default 2; "
                        "about two per CPU core)")
    p.add_argument("--demo", type=Path, metavar="DIR",
                   help="a demo under DIR: SQLite, a demo coalition, keystore and open campaign "
                        "(another --port later moves its share link and keystore along)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("setup-code",
                       help="Print a one-time code that lets an organizer create a coalition.",
                       description="Print a one-time setup code for the database the environment "
                                   "names (see `run --help`), or for a demo's; stderr says which.")
    p.add_argument("--expires", type=_duration, default=_duration("24h"),
                   help="e.g. 30m, 24h, 7d (default 24h)")
    p.add_argument("--demo", type=Path, metavar="DIR",
                   help="a code for the demo under DIR (`run --demo DIR`), not the environment's database")
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
