"""deploy/compose.yaml's `scale` profile: PostgreSQL, Redis and two app containers behind Caddy.

A pledge goes through each app container (the other one stopped meanwhile), both land in the one
PostgreSQL database, and the rate limit is one count across both containers (Redis plus the
shared rate-limit key), whatever X-Forwarded-For a client makes up.
"""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.compose import Deployment
from tests.containers.organizers import Campaign, open_campaign
from tests.support.factories import pledge
from tests.support.http import call

LIMIT = 6  # pledges per client network per minute, for this test


def scale_settings() -> dict[str, str]:
    password = secrets.token_urlsafe(18)
    return {"COMPOSE_PROFILES": "scale", "POSTGRES_PASSWORD": password,
            "PLEDGEBOX_DATABASE_URL": f"postgresql://pledgebox:{password}@postgres:5432/pledgebox",
            "PLEDGEBOX_RATELIMIT_STORAGE": "redis://redis:6379/0",
            "PLEDGEBOX_RATELIMIT_KEY_FILE": "/run/pledgebox/ratelimit.key",
            "PLEDGEBOX_RATELIMIT_PER_NETWORK": f"{LIMIT} per minute"}


@pytest.fixture(scope="module")
def deployment(built_images: None, trust: Path) -> Iterator[Deployment]:
    running = Deployment(scale_settings())
    try:
        yield running.up(trust)
    finally:
        running.down()


def test_two_apps_one_database_one_rate_limit(deployment: Deployment, trust: Path, module_tmp: Path) -> None:
    assert deployment.services() == {"caddy", "app", "app2", "postgres", "redis"}
    for app in ("app", "app2"):  # both on PostgreSQL, neither on its own SQLite file
        done = deployment.podman("exec", deployment.container(app), "sh", "-c",
                                 "pledgebox-server db status 2>&1; ls -A /data")
        assert "up to date" in done
        assert "sqlite" not in done
    campaign = open_campaign(deployment, module_tmp)

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
    """A pledge that only `only` can take: the other app is stopped meanwhile."""
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
        deployment.wait_ready(trust)
