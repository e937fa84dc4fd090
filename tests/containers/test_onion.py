"""The `onion` profile: Tor's configuration is valid in its own image, and wired to Caddy.

Tor is kept off its network in CI, so its configuration is checked (`tor --verify-config`, as the
image's own user, on deploy/tor/torrc as compose mounts it); test_compose.py runs the profile and
reads the onion address Tor made.
"""

import yaml

from tests.containers import images
from tests.containers.compose import Deployment


def test_tor_accepts_the_onion_configuration(built_images: None) -> None:
    done = images.run(["podman", "run", "--rm", "--network", "none",
                       "-v", f"{images.DEPLOY / 'tor' / 'torrc'}:/etc/tor/torrc:ro",
                       images.TOR_TAG, "tor", "--verify-config", "-f", "/etc/tor/torrc"], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration was valid" in done.stdout
    assert "[warn]" not in done.stdout  # e.g. running as root, or an option Tor is dropping


def test_the_onion_service_reaches_only_caddys_private_listener() -> None:
    rendered = yaml.safe_load(Deployment({"COMPOSE_PROFILES": "onion"}).compose("config"))
    tor = rendered["services"]["tor"]
    assert tor["network_mode"] == "service:caddy"
    torrc = (images.DEPLOY / "tor" / "torrc").read_text()
    assert "HiddenServicePort 80 127.0.0.1:8081" in torrc
    caddyfile = (images.DEPLOY / "Caddyfile").read_text()
    assert "http://:8081 {\n\tbind 127.0.0.1\n" in caddyfile
    assert "SocksPort 0" in torrc
