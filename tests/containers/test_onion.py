"""The `onion` profile: Tor's configuration is valid in its own image, and wired to Caddy alone;
without the profile, no Onion-Location header.

Tor is kept off its network in CI, so its configuration is checked (`tor --verify-config`, as the
image's own user, on deploy/tor/torrc as compose mounts it); test_compose.py runs the profile and
reads the onion address Tor made.

The deployment without the profile is the `plain` world (tests/containers/worlds.py); this module
only reads it.
"""

import pytest
import yaml

from tests.containers import images
from tests.containers.compose import Deployment
from tests.support.http import call

pytestmark = pytest.mark.world("plain")


def test_tor_accepts_the_onion_configuration(built_images: None) -> None:
    done = images.run(["podman", "run", "--rm", "--network", "none",
                       "-v", f"{images.DEPLOY / 'tor' / 'torrc'}:/etc/tor/torrc:ro",
                       images.TOR_TAG, "tor", "--verify-config", "-f", "/etc/tor/torrc"], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration was valid" in done.stdout
    assert "[warn]" not in done.stdout  # e.g. running as root, or an option Tor is dropping


def test_the_onion_service_reaches_only_caddys_onion_listener() -> None:
    """Tor in a namespace of its own (issue 17, finding 12): on `onion`, shared with Caddy alone,
    and on `tor-out`, its own way out; the address Tor hands visitors to is Caddy's fixed one."""
    rendered = yaml.safe_load(Deployment({"COMPOSE_PROFILES": "onion,scale"}).compose("config"))
    services, networks = rendered["services"], rendered["networks"]
    tor = services["tor"]
    assert "network_mode" not in tor
    assert sorted(tor["networks"]) == ["onion", "tor-out"]
    joined = {name: sorted(s for s, spec in services.items() if name in (spec.get("networks") or {}))
              for name in ("onion", "tor-out", "default", "backend")}
    assert joined["onion"] == ["caddy", "tor"]
    assert joined["tor-out"] == ["tor"]
    assert "tor" not in joined["default"] + joined["backend"]
    assert networks["onion"]["internal"] is True
    assert networks["onion"]["ipam"]["config"] == [{"subnet": "10.89.254.0/29"}]
    caddy_address = services["caddy"]["networks"]["onion"]["ipv4_address"]
    assert caddy_address == "10.89.254.2"
    torrc = (images.DEPLOY / "tor" / "torrc").read_text()
    assert f"HiddenServicePort 80 {caddy_address}:8081" in torrc
    caddyfile = (images.DEPLOY / "Caddyfile").read_text()
    assert f"http://:8081 {{\n\tbind {caddy_address}\n" in caddyfile
    assert "SocksPort 0" in torrc


def test_without_the_onion_profile_no_onion_location_is_sent(deployment: Deployment) -> None:
    """Caddy and the app only: no profile."""
    assert deployment.services() == {"caddy", "app"}
    assert "onion-location" not in call(deployment.base_url, "GET", "/").headers
