"""Rate limits keyed by a keyed hash of the client's network, never by its address.

The key is BLAKE2b(network, key=BLAKE2b(seed, day)): the seed lives only in memory (shared by
workers forked from one master, or read from PLEDGEBOX_RATELIMIT_KEY_FILE when several servers
share Redis), and the daily key means yesterday's counters cannot be linked to today's.
A whole school often shares one address, so the per-network limit lets a class through in a
burst; a per-campaign ceiling bounds a flood from many networks.
"""

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded

from crypto import _primitives as primitives
from server.errors import RateLimited, render


@dataclass(frozen=True)
class PledgeLimits:
    per_network: str = "60 per minute;1200 per hour"
    per_campaign: str = "1200 per minute"
    reads: str = "300 per minute"

    @staticmethod
    def campaign_key() -> str:
        return "campaign:" + (request.view_args or {}).get("campaign_id", "")[:64]


pledge_limits = PledgeLimits()
withdraw_limits = "20 per minute;200 per day"

_seed = secrets.token_bytes(32)


def set_seed(seed: bytes) -> None:
    global _seed
    _seed = primitives.blake2b(seed, 32)


def network_of(address: str) -> str:
    """/24 for IPv4 and /64 for IPv6: a household or school network, not one device."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_key() -> str:
    day = datetime.now(UTC).date().isoformat().encode()
    daily = primitives.blake2b(_seed + day, 32)
    network = network_of(request.remote_addr or "")
    return primitives.blake2b(network.encode(), 16, key=daily).hex()


limiter = Limiter(key_func=network_key, headers_enabled=False, strategy="fixed-window")


def init_app(app: Flask, storage_uri: str, enabled: bool) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri
    app.config["RATELIMIT_ENABLED"] = enabled
    if storage_uri.startswith("redis"):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 2}
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _limited(error: RateLimitExceeded) -> Response:
        retry = 60
        limit = getattr(error, "limit", None)
        if limit is not None:
            retry = max(1, int(limit.limit.get_expiry()))
        return render(RateLimited(retry_after=retry))
