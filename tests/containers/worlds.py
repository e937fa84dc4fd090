"""The deployments the container tests run ("worlds"), brought up once and shared by every module
that runs on the same one.

Each test module names its world with `pytest.mark.world(NAME)`; conftest.py runs the modules of
one world one after another and gives them the same running deployment, so a world is brought up
once per session however many modules use it (test_compose.py and test_watch_deployed.py share
`onion`). At most one world runs at a time: every deployment joins the `onion` network, whose fixed
subnet (10.89.254.0/29, what deploy/tor/torrc names) two projects cannot both have. A module that
changes a shared world puts it back before it ends, and says so in its docstring; a test that
needs a world nobody else may touch gets a world name of its own.
"""

import fcntl
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.containers.compose import Deployment
from tests.containers.images import CACHE

TOR_OFFLINE = Path(__file__).parent / "tor-offline.yaml"
SCALE_LIMIT = 6  # pledges per client network per minute, in the `scale` world


def scale_settings() -> dict[str, str]:
    password, redis_password = secrets.token_hex(18), secrets.token_hex(18)
    return {"COMPOSE_PROFILES": "scale,onion", "POSTGRES_PASSWORD": password,
            "REDIS_PASSWORD": redis_password,
            "PLEDGEBOX_DATABASE_URL": f"postgresql://pledgebox:{password}@postgres:5432/pledgebox",
            "PLEDGEBOX_RATELIMIT_STORAGE": f"redis://:{redis_password}@redis:6379/0",
            "PLEDGEBOX_RATELIMIT_KEY_FILE": "/run/pledgebox/ratelimit.key",
            "PLEDGEBOX_RATELIMIT_PER_NETWORK": f"{SCALE_LIMIT} per minute"}


# In the order their modules run.
WORLDS: dict[str, Callable[[], Deployment]] = {
    # Caddy, one app on SQLite and Tor (profile `onion`, kept off the Tor network).
    "onion": lambda: Deployment({"COMPOSE_PROFILES": "onion"}, overrides=(TOR_OFFLINE,)),
    # Caddy and one app: no profile.
    "plain": lambda: Deployment({}),
    # PostgreSQL, Redis and two apps behind Caddy, with Tor (profiles `scale` and `onion`).
    "scale": lambda: Deployment(scale_settings(), overrides=(TOR_OFFLINE,)),
}


class Worlds:
    """The one running world, kept while the next module asks for the same one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name: str | None = None
        self.running: Deployment | None = None
        self.brought_up: list[str] = []  # every bring-up this session, in order (printed at the end)
        self.lock: int | None = None

    def enter(self, name: str) -> Deployment:
        if self.name == name and self.running is not None:
            return self.running
        self.leave()
        self._take_lock()
        deployment = WORLDS[name]()
        # Each deployment's Caddy makes its own CA: a file per deployment, never a stale one.
        ca_file = self.folder / f"{deployment.project}-caddy-root.crt"
        try:
            deployment.up(ca_file)
        except BaseException:
            deployment.down()
            self._release_lock()
            raise
        self.name, self.running = name, deployment
        self.brought_up.append(name)
        return deployment

    def leave(self) -> None:
        if self.running is not None:
            self.running.down()
        self.name, self.running = None, None
        self._release_lock()

    def _take_lock(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.lock = os.open(CACHE / "worlds.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("[containers] another run's deployment is up on this machine: waiting for it",
                  file=sys.stderr)
            began = time.monotonic()
            fcntl.flock(self.lock, fcntl.LOCK_EX)
            print(f"[containers] waited {time.monotonic() - began:.0f} s", file=sys.stderr)

    def _release_lock(self) -> None:
        if self.lock is not None:
            os.close(self.lock)  # closing the only descriptor releases the lock
            self.lock = None
