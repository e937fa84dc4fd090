"""Rate limits keyed by a keyed hash of the client's network, never by its address.

A counter's key is BLAKE2b(network, key=K_day), 16 bytes, where the network is the /24 (IPv4) or
/64 (IPv6) around the client. K_day is replaced every UTC day by K_{day+1} = BLAKE2b(K_day): a
one-way ratchet, so a key seized today cannot recompute yesterday's counters, and a counter in
Redis or memory cannot be brute-forced back to a network (2^24 IPv4 networks is a small search)
without the server's current key.

Where K_day lives:
- one server (default): in memory only, drawn at start-up in the gunicorn master before it forks
  (`preload_app`), so every worker ratchets the same key and Redis counters agree;
- several servers sharing Redis: in PLEDGEBOX_RATELIMIT_KEY_FILE, a 0600 file that only the servers
  read. Each server ratchets its copy forward under a file lock and overwrites the old key, so
  copies started from the same file agree on every later day without talking to each other.
  Keep it on tmpfs (/run) so it never reaches a disk; docs/deploy.md says how to copy it.

A whole school often shares one address, so the per-network limits let a class through in a
burst and stop a script; a per-campaign ceiling bounds a flood coming from many networks.
"""

import fcntl
import ipaddress
import math
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from crypto import _primitives as primitives
from server.config import Config, ConfigError
from server.errors import RateLimited, respond

KEY_BYTES = 32
_FILE_MAGIC = "pledgebox-ratelimit-key-v1"
_EXTENSION = "pledgebox.ratelimit_key"


@dataclass(frozen=True)
class PledgeLimits:
    """Per network: a class of 40 in two minutes passes, a script at 1,000 a minute does not.

    The two pledge limits come from the configuration (PLEDGEBOX_RATELIMIT_PER_NETWORK and
    _PER_CAMPAIGN; defaults in server/config.py), read per request: a district whose schools
    share one network can raise them without a code change.
    """

    reads: str = "600 per minute"

    @staticmethod
    def per_network() -> str:
        return str(current_app.extensions["pledgebox"].config.ratelimit_per_network)

    @staticmethod
    def per_campaign() -> str:
        return str(current_app.extensions["pledgebox"].config.ratelimit_per_campaign)

    @staticmethod
    def campaign_key() -> str:
        campaign = (request.view_args or {}).get("campaign_id", "")[:64]
        return "c" + primitives.blake2b(b"campaign\x00" + campaign.encode(), 16,
                                        key=daily_key()).hex()


pledge_limits = PledgeLimits()
withdraw_limits = "30 per minute;300 per day"
# Everything without its own limit (organizers' API, pages, the OpenAPI document); static files
# are exempt (flask-limiter never counts the `static` endpoint).
DEFAULT_LIMITS = "300 per minute"


def ratchet(key: bytes, steps: int) -> bytes:
    for _ in range(steps):
        key = primitives.blake2b(b"pledgebox/ratelimit-ratchet\x00" + key, KEY_BYTES)
    return key


def utc_today() -> date:
    # Real UTC date on purpose (not the test clock): every process must agree on the day.
    return datetime.now(UTC).date()


class DailyKey:
    """K_day, from memory or from the shared key file, ratcheted forward when the day changes."""

    def __init__(self, key_file: Path | None = None) -> None:
        self.key_file = key_file
        self.day = utc_today()
        self.key = secrets.token_bytes(KEY_BYTES)
        if key_file is not None:
            self.day, self.key = _ratchet_file(key_file, self.day)

    def current(self) -> bytes:
        today = utc_today()
        if today > self.day:
            if self.key_file is not None:
                self.day, self.key = _ratchet_file(self.key_file, today)
            else:
                self.day, self.key = today, ratchet(self.key, (today - self.day).days)
        return self.key


def _ratchet_file(key_file: Path, today: date) -> tuple[date, bytes]:
    """Read the file's (day, key), ratchet it to `today` and overwrite it, under an flock."""
    fd = os.open(key_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        day, key = _parse_key_file(os.read(fd, 4096).decode("ascii", "replace"), today)
        if day < today:
            day, key = today, ratchet(key, (today - day).days)
        line = f"{_FILE_MAGIC} {day.isoformat()} {key.hex()}\n".encode()
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, line)
        os.ftruncate(fd, len(line))
        os.fsync(fd)
        return day, key
    finally:
        os.close(fd)


def _parse_key_file(text: str, today: date) -> tuple[date, bytes]:
    if not text.strip():
        return today, secrets.token_bytes(KEY_BYTES)  # a new file: the first server draws the key
    try:
        magic, day, hexkey = text.split()
        key = bytes.fromhex(hexkey)
        if magic != _FILE_MAGIC or len(key) != KEY_BYTES:
            raise ValueError
        return date.fromisoformat(day), key
    except ValueError:
        raise ConfigError("PLEDGEBOX_RATELIMIT_KEY_FILE is not a Pledgebox rate-limit key file; "
                           "remove it to start a new one") from None


def daily_key() -> bytes:
    key: bytes = current_app.extensions[_EXTENSION].current()
    return key


def network_of(address: str) -> str:
    """/24 for IPv4 and /64 for IPv6: a household or school network, not one device."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_key() -> str:
    network = network_of(request.remote_addr or "")
    return "n" + primitives.blake2b(b"network\x00" + network.encode(), 16, key=daily_key()).hex()


limiter = Limiter(key_func=network_key, headers_enabled=False, strategy="sliding-window-counter",
                  default_limits=[DEFAULT_LIMITS])


def retry_after() -> int:
    """Whole seconds until the breached window lets one more request through (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def init_app(app: Flask, config: Config) -> None:
    # Made in create_app, which the gunicorn master runs before forking its workers.
    app.extensions[_EXTENSION] = DailyKey(config.ratelimit_key_file)
    storage = config.ratelimit_storage
    app.config["RATELIMIT_STORAGE_URI"] = storage
    app.config["RATELIMIT_ENABLED"] = config.ratelimits_enabled
    app.config["RATELIMIT_KEY_PREFIX"] = config.ratelimit_prefix
    if storage.startswith("redis"):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
        # Redis down: keep limiting, per process, rather than refuse students or stop limiting.
        app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _limited(_error: RateLimitExceeded) -> Response | tuple[str, int, dict[str, str]]:
        return respond(RateLimited(retry_after=retry_after()))
