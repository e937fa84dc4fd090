"""The app image's entry point: wait until PostgreSQL answers, then run the command.

Without it an app container that starts before PostgreSQL (every first start of the `scale`
profile: compose starts them together) fails its migrations, exits, and is restarted a few times,
and Caddy answers 502 meanwhile. SQLite (no PLEDGEBOX_DATABASE_URL, or a sqlite one) needs no wait.
Says nothing about the database but that it is waited for: the URL holds a password.
"""

import os
import sys
import time

import psycopg2

DEADLINE_S = float(os.environ.get("PLEDGEBOX_DATABASE_WAIT_S", "120"))


def wait_for_postgresql(url: str, deadline_s: float) -> bool:
    """True once a connection succeeds; False when the deadline passes first."""
    end = time.monotonic() + deadline_s
    said = False
    while True:
        try:
            psycopg2.connect(url, connect_timeout=3).close()
            return True
        except psycopg2.OperationalError:
            if time.monotonic() > end:
                return False
            if not said:
                print("Waiting for the database to accept connections", file=sys.stderr, flush=True)
                said = True
            time.sleep(1)


def main(argv: list[str]) -> None:
    url = os.environ.get("PLEDGEBOX_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")) and not wait_for_postgresql(url, DEADLINE_S):
        print(f"The database did not accept connections within {DEADLINE_S:.0f} s; starting anyway",
              file=sys.stderr, flush=True)
    os.execvp(argv[0], argv)  # noqa: S606 (the container's command, as the image's CMD gives it)


if __name__ == "__main__":
    main(sys.argv[1:])
