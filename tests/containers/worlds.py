"""The deployments the container tests run ("worlds"), brought up once and shared by every module
that runs on the same one.

Each test module names its world with `pytest.mark.world(NAME)`; conftest.py runs the modules of
one world one after another and gives them the same running deployment, so a world is brought up
once per session however many modules use it (test_compose.py and test_watch_deployed.py share
`onion`). One world runs at a time. A module that changes a shared world puts it back before it
ends, and says so in its docstring; a test that needs a world nobody else may touch gets a world
name of its own.

Every deployment joins the `onion` network, whose subnet is fixed (Tor names Caddy's address on
it), and two networks cannot have the same subnet on one machine. So each world gets a /29 that
no network and no interface of the machine has (deploy/.env's PLEDGEBOX_ONION_SUBNET and
PLEDGEBOX_ONION_CADDY_IP, as an operator whose network clashes sets them), and another if podman
still refuses it: a second test run on the machine, a world a killed run left behind, or another
project's network could each hold the default one (CI once failed all 19 container tests so).
"""

import ipaddress
import json
import random
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.containers.compose import Deployment
from tests.containers.images import run

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


# In the order their modules run; each is given its `onion` network's settings.
WORLDS: dict[str, Callable[[dict[str, str]], Deployment]] = {
    # Caddy, one app on SQLite and Tor (profile `onion`, kept off the Tor network).
    "onion": lambda onion: Deployment({"COMPOSE_PROFILES": "onion", **onion},
                                      overrides=(TOR_OFFLINE,)),
    # Caddy and one app: no profile.
    "plain": Deployment,
    # PostgreSQL, Redis and two apps behind Caddy, with Tor (profiles `scale` and `onion`).
    "scale": lambda onion: Deployment({**scale_settings(), **onion}, overrides=(TOR_OFFLINE,)),
}

# Where a world's `onion` network is looked for: 512 /29s around the default one (10.89.254.0/29),
# at the top of podman's pool for the networks it numbers itself (10.89.0.0/16, a /24 each from
# the bottom), so that one other podman's /24 there still leaves hundreds.
ONION_POOL = ipaddress.IPv4Network("10.89.240.0/20")
ONION_TRIES = 4


def onion_settings(subnet: ipaddress.IPv4Network) -> dict[str, str]:
    """deploy/.env's two settings for `subnet`: Caddy takes its second address (the first is the
    gateway's)."""
    caddy = list(subnet.hosts())[1]
    return {"PLEDGEBOX_ONION_SUBNET": str(subnet), "PLEDGEBOX_ONION_CADDY_IP": str(caddy)}


def networks_in_use() -> list[ipaddress.IPv4Network]:
    """What podman checks a new subnet against: every IPv4 network podman has, and the network of
    every address the machine's interfaces have (a bridge of another podman, in another run's
    container, shows only there). Not routes: a wide one (10.0.0.0/8 to a VPN) would leave no
    /29 free, and podman does not refuse a subnet for it."""
    used: list[ipaddress.IPv4Network] = []
    for network in json.loads(run(["podman", "network", "ls", "--format", "json"]).stdout or "[]"):
        for subnet in network.get("subnets") or []:
            found = ipaddress.ip_network(subnet["subnet"], strict=False)
            if isinstance(found, ipaddress.IPv4Network):
                used.append(found)
    try:
        links = json.loads(run(["ip", "-j", "-4", "address"]).stdout or "[]")
    except (FileNotFoundError, RuntimeError, subprocess.SubprocessError):
        return used  # no iproute2: podman's refusal (retried in Worlds.enter) still catches a clash
    for link in links:
        for info in link.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return used


def free_onion_subnet(refused: set[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """A /29 of ONION_POOL that nothing on the machine overlaps, at random: two runs that look
    at the same moment seldom take the same one."""
    used = networks_in_use()
    free = [subnet for subnet in ONION_POOL.subnets(new_prefix=29)
            if subnet not in refused and not any(subnet.overlaps(other) for other in used)]
    if not free:
        raise RuntimeError(f"no /29 of {ONION_POOL} is free on this machine for the onion network")
    return random.choice(free)  # not a secret: which free subnet


class Worlds:
    """The one running world, kept while the next module asks for the same one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name: str | None = None
        self.running: Deployment | None = None
        self.brought_up: list[str] = []  # every bring-up this session, in order (printed at the end)

    def enter(self, name: str) -> Deployment:
        if self.name == name and self.running is not None:
            return self.running
        self.leave()
        refused: set[ipaddress.IPv4Network] = set()
        while True:
            subnet = free_onion_subnet(refused)
            deployment = WORLDS[name](onion_settings(subnet))
            # Each deployment's Caddy makes its own CA: a file per deployment, never a stale one.
            ca_file = self.folder / f"{deployment.project}-caddy-root.crt"
            try:
                deployment.up(ca_file)
                break
            except BaseException as exc:
                deployment.down()
                refused.add(subnet)  # taken since we looked (another run's world): the next one
                if "network create" not in str(exc) or len(refused) >= ONION_TRIES:
                    raise
            print(f"[containers] podman refused the onion network {subnet}: trying another",
                  file=sys.stderr)
        self.name, self.running = name, deployment
        self.brought_up.append(name)
        return deployment

    def leave(self) -> None:
        if self.running is not None:
            self.running.down()
        self.name, self.running = None, None
