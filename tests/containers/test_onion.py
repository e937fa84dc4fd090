"""The `onion` profile: Tor's configuration is valid in its own image, and wired to Caddy alone;
without the profile, no Onion-Location header.

Tor is kept off its network in CI, so its configuration is checked (`tor --verify-config`, as the
image's own user, on deploy/tor/torrc as compose mounts it); test_compose.py runs the profile and
reads the onion address Tor made.

The deployment without the profile is the `plain` world (tests/containers/worlds.py); this module
only reads it.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.containers import images
from tests.containers.compose import Deployment
from tests.containers.worlds import TOR_OFFLINE
from tests.support.http import call

pytestmark = pytest.mark.world("plain")


def rendered(settings: dict[str, str], overrides: tuple[Path, ...] = ()) -> dict[str, Any]:
    """compose.yaml as podman-compose reads it with `settings` in deploy/.env, profiles `onion`
    and `scale` on."""
    deployment = Deployment({"COMPOSE_PROFILES": "onion,scale", **settings}, overrides=overrides)
    return dict(yaml.safe_load(deployment.compose("config")))


def test_tor_accepts_the_onion_configuration(built_images: None) -> None:
    """deploy/tor/torrc with the onion service's port compose.yaml adds on Tor's command line."""
    command = rendered({})["services"]["tor"]["command"]
    assert command[:3] == ["tor", "-f", "/etc/tor/torrc"]
    done = images.run(["podman", "run", "--rm", "--network", "none",
                       "-v", f"{images.DEPLOY / 'tor' / 'torrc'}:/etc/tor/torrc:ro",
                       images.TOR_TAG, "tor", "--verify-config", *command[1:]], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration was valid" in done.stdout
    assert "[warn]" not in done.stdout  # e.g. running as root, or an option Tor is dropping
    # Tor's own dump of what it would run: torrc's onion service, with its port.
    dumped = images.run(["podman", "run", "--rm", "--network", "none",
                         "-v", f"{images.DEPLOY / 'tor' / 'torrc'}:/etc/tor/torrc:ro",
                         images.TOR_TAG, "tor", "--dump-config", "short", *command[1:]]).stdout
    assert ("HiddenServiceDir /var/lib/tor/pledgebox\nHiddenServiceVersion 3\n"
            "HiddenServicePort 80 10.89.254.2:8081\n") in dumped


def test_the_onion_service_reaches_only_caddys_onion_listener() -> None:
    """Tor in a namespace of its own (issue 17, finding 12): on `onion`, shared with Caddy alone,
    and on `tor-out`, its own way out; the address Tor hands visitors to is Caddy's fixed one."""
    config = rendered({})
    services, networks = config["services"], config["networks"]
    tor = services["tor"]
    assert "network_mode" not in tor
    assert sorted(tor["networks"]) == ["onion", "tor-out"]
    joined = {name: sorted(s for s, spec in services.items() if name in (spec.get("networks") or {}))
              for name in ("onion", "tor-out", "default", "backend")}
    assert joined["onion"] == ["caddy", "tor"]
    assert joined["tor-out"] == ["tor"]
    assert "tor" not in joined["default"] + joined["backend"]
    assert networks["onion"]["internal"] is True
    assert_onion_wired(config, "10.89.254.0/29", "10.89.254.2")
    assert "SocksPort 0" in (images.DEPLOY / "tor" / "torrc").read_text()


def assert_onion_wired(config: dict[str, Any], subnet: str, caddy_address: str) -> None:
    """The `onion` network's subnet, Caddy's address on it, the address its onion listener binds
    and the one Tor hands visitors to: one setting each in deploy/.env, the same everywhere."""
    services = config["services"]
    assert config["networks"]["onion"]["ipam"]["config"] == [{"subnet": subnet}]
    assert services["caddy"]["networks"]["onion"]["ipv4_address"] == caddy_address
    assert services["caddy"]["environment"]["PLEDGEBOX_ONION_CADDY_IP"] == caddy_address
    caddyfile = (images.DEPLOY / "Caddyfile").read_text()
    assert "http://:8081 {\n\tbind {$PLEDGEBOX_ONION_CADDY_IP}\n" in caddyfile
    command = services["tor"]["command"]
    assert command[3:5] == ["+HiddenServicePort", f"80 {caddy_address}:8081"]
    assert "HiddenServicePort" not in (images.DEPLOY / "tor" / "torrc").read_text().replace(
        "`HiddenServicePort 80 <Caddy's address>:8081`", "")  # the command line's alone


def test_an_operator_moves_the_onion_network_with_two_settings() -> None:
    """A host whose own network holds 10.89.254.0/29 (or a second deployment on the machine, as
    the container tests run): PLEDGEBOX_ONION_SUBNET and PLEDGEBOX_ONION_CADDY_IP move the network,
    Caddy's address, its listener and Tor's port together; the tests' override keeps Tor's
    command as compose.yaml's, only kept off the Tor network."""
    example = (images.DEPLOY / "env.example").read_text()  # the two lines it shows, uncommented
    moved = dict(re.findall(r"^#(PLEDGEBOX_ONION_(?:SUBNET|CADDY_IP))=(\S+)$", example, re.MULTILINE))
    assert moved == {"PLEDGEBOX_ONION_SUBNET": "10.89.253.0/29", "PLEDGEBOX_ONION_CADDY_IP": "10.89.253.2"}
    config = rendered(moved)
    assert_onion_wired(config, "10.89.253.0/29", "10.89.253.2")
    offline = rendered(moved, overrides=(TOR_OFFLINE,))
    assert offline["services"]["tor"]["command"] == [
        *config["services"]["tor"]["command"], "--DisableNetwork", "1"]


def test_without_the_onion_profile_no_onion_location_is_sent(deployment: Deployment) -> None:
    """Caddy and the app only: no profile."""
    assert deployment.services() == {"caddy", "app"}
    assert "onion-location" not in call(deployment.base_url, "GET", "/").headers
