"""deploy/compose.yaml's `scale` profile: PostgreSQL, Redis and two app containers behind Caddy, with
the `onion` profile's Tor beside them (kept off the Tor network).

A pledge goes through each app container (the other one stopped meanwhile), both land in the one
PostgreSQL database, and the rate limit is one count across both containers (Redis plus the
shared rate-limit key), whatever X-Forwarded-For a client makes up. Every container is confined
(issue 17, finding 12): no root, no capabilities, read-only; only the apps reach PostgreSQL and
Redis, Redis wants its password, and the apps wait for PostgreSQL instead of restarting. Tor
reaches none of them, only Caddy's onion listener, and every onion visitor counts as one network.

The `scale` world (tests/containers/worlds.py) is this module's alone. Its one change, an app
stopped while a pledge goes through the other, is undone (started again, both back in Caddy's
upstreams) before the test goes on.
"""

import json
import time
from pathlib import Path

import pytest

from tests.containers.compose import Deployment
from tests.containers.confinement import (
    address_on,
    assert_all_confined,
    connect_from,
    connections_from,
    python_in_namespace_of,
    routes_out,
)
from tests.containers.organizers import Campaign, open_campaign
from tests.containers.worlds import SCALE_LIMIT
from tests.support.factories import pledge
from tests.support.http import call

LIMIT = SCALE_LIMIT  # pledges per client network per minute, in this world
pytestmark = pytest.mark.world("scale")


@pytest.fixture(scope="module")
def campaign(deployment: Deployment, module_tmp: Path) -> Campaign:
    return open_campaign(deployment, module_tmp)


def test_two_apps_one_database_one_rate_limit(deployment: Deployment, trust: Path,
                                              campaign: Campaign) -> None:
    assert deployment.services() == {"caddy", "app", "app2", "postgres", "redis", "tor"}
    for app in ("app", "app2"):  # both on PostgreSQL, neither on its own SQLite file
        done = deployment.podman("exec", deployment.container(app), "sh", "-c",
                                 "pledgebox-server db status 2>&1; ls -A /data")
        assert "up to date" in done
        assert "sqlite" not in done

    sent = [_pledge_through(deployment, trust, campaign, only=app) for app in ("app", "app2")]
    assert {r["pledge_id"] for r in campaign.roster()} == set(sent)

    # The same visitor, claiming a new address each time, through both apps in turn.
    replies = [call(deployment.base_url, "POST", f"/api/v1/campaigns/{campaign.campaign_id}/pledges",
                    body={}, headers={"X-Forwarded-For": f"203.0.{i}.9"}).status
               for i in range(2 * LIMIT)]
    # Empty bodies are refused (400) after the limiter counted them; past the limit: 429.
    assert set(replies) <= {400, 429}
    refused = replies.count(429)
    # One shared count lets at most LIMIT through (2 already spent); two separate counts would
    # let every one of these through, LIMIT per app.
    assert refused >= LIMIT, replies


def _pledge_through(deployment: Deployment, trust: Path, campaign: Campaign, only: str) -> str:
    """A pledge that only `only` can take: the other app is stopped meanwhile. Then it is started
    again, until it answers itself and both apps have answered through Caddy for a while (waiting
    less here, only for the restarted app to answer itself, stalled the next step for half a
    minute at times: measured)."""
    other = deployment.container("app2" if only == "app" else "app")
    deployment.podman("stop", "--time", "5", other)
    try:
        deployment.wait_ready(trust)
        for _ in range(20):  # Caddy notices the stopped one within seconds
            try:
                return pledge(deployment.base_url, campaign.campaign_id).pledge_id
            except AssertionError:
                time.sleep(0.5)
        raise AssertionError(f"no pledge went through {only}")
    finally:
        deployment.podman("start", other)
        deployment.wait_apps_ready()
        deployment.wait_ready(trust)


def test_the_apps_wait_for_postgresql_instead_of_restarting(deployment: Deployment) -> None:
    """compose starts the apps with PostgreSQL; without the image's wait each app failed its
    migrations, exited and was restarted (Caddy answering 502 meanwhile)."""
    for app in ("app", "app2"):
        restarts = deployment.podman("inspect", deployment.container(app), "--format", "{{.RestartCount}}")
        assert restarts.strip() == "0", (app, restarts, deployment.logs(app)[-2000:])


def test_every_container_is_unprivileged_on_a_read_only_root(deployment: Deployment) -> None:
    services = ("caddy", "app", "app2", "postgres", "redis", "tor")
    assert_all_confined(deployment, services)
    # Only Caddy (certificates, on `public`) and Tor (the Tor network, on `tor-out`) have a way out;
    # nothing on `default` or `backend` has.
    assert routes_out(deployment, services) == ["caddy", "tor"]


def test_only_the_apps_reach_postgresql_and_redis(deployment: Deployment) -> None:
    backends = (("postgres", 5432), ("redis", 6379))
    targets: list[tuple[str, int]] = []
    for service, port in backends:
        address = address_on(deployment, service, "backend")
        assert address, f"{service} is not on the backend network"
        targets += [(service, port), (address, port)]  # by name and by address: neither DNS nor a route
    assert connections_from(deployment, "app", backends) == ["connected", "connected"]
    for outsider in ("caddy", "tor"):  # every target from one probe container per namespace
        outcomes = connections_from(deployment, outsider, targets)
        for (target, _port), outcome in zip(targets, outcomes, strict=True):
            assert outcome != "connected", (outsider, target)


def test_tor_reaches_no_app_and_onion_visitors_are_one_network(deployment: Deployment,
                                                               campaign: Campaign) -> None:
    """Issue 17, finding 12: Tor shared Caddy's network namespace, so a compromised Tor reached the
    apps' port 8080 and could send any X-Forwarded-For, choosing its own rate-limit bucket. Now it
    reaches only Caddy's onion listener, which overwrites X-Forwarded-For with Tor's address."""
    targets = [(target, 8080) for app in ("app", "app2")
               for target in (app, address_on(deployment, app, "default"))]  # by name and by address
    for (target, _port), outcome in zip(targets, connections_from(deployment, "tor", targets), strict=True):
        assert outcome != "connected", target
    assert connect_from(deployment, "caddy", "app", 8080) == "connected"  # the probe itself works
    # Onion visitors claiming a new address each time, through Tor's only way in.
    flood = ("import json, sys, urllib.request as u, urllib.error as e\n"
             "out = []\n"
             "for i in range(int(sys.argv[2])):\n"
             "    q = u.Request(sys.argv[1], data=b'{}', method='POST', headers={\n"
             "        'Content-Type': 'application/json', 'X-Forwarded-For': f'198.51.{i}.7'})\n"
             "    try: out.append(u.urlopen(q, timeout=20).status)\n"
             "    except e.HTTPError as x: out.append(x.code)\n"
             "print(json.dumps(out))\n")
    listener = f"http://{address_on(deployment, 'caddy', 'onion')}:8081"
    url = f"{listener}/api/v1/campaigns/{campaign.campaign_id}/pledges"
    replies = json.loads(python_in_namespace_of(deployment, "tor", flood, url, str(2 * LIMIT)))
    assert set(replies) <= {400, 429}, replies
    # One count for every onion visitor: past LIMIT, refused, whatever address each one claims.
    assert replies.count(429) >= LIMIT, replies


def test_redis_answers_only_with_its_password(deployment: Deployment) -> None:
    ping = ("import os, redis\n"
            "try: print(redis.Redis(host='redis', password=os.environ.get('PB_PASSWORD') or None).ping())\n"
            "except redis.exceptions.RedisError as exc: print(type(exc).__name__)\n")
    app = deployment.container("app")
    without = deployment.podman("exec", app, "python3", "-c", ping).strip()
    assert without == "AuthenticationError", without
    password = deployment.settings["REDIS_PASSWORD"]
    with_password = deployment.podman("exec", "--env", f"PB_PASSWORD={password}", app, "python3", "-c", ping)
    assert with_password.strip() == "True"
    assert password not in deployment.logs("redis")
