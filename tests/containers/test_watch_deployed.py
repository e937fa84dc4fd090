"""The page watch against deploy/compose.yaml: no false alarm through Caddy over HTTPS with gzip,
nor through the onion profile's listener (where Tor hands its visitors), over 20 rounds each in
both languages (issue 19). The onion round runs inside the app image, from Tor's network
namespace as Tor reaches it, so it also proves the installed package carries its manifest.

Runs on the shared `onion` world (tests/containers/worlds.py), after test_compose.py, with a
campaign and coalition of its own; it only reads pages, so it changes nothing there."""

import json
import random
from pathlib import Path

import pytest

from crypto.encoding import b64u_encode
from organizer.session import Session
from organizer.watch import service
from organizer.watch.check import run_round
from tests.containers.compose import Deployment
from tests.containers.confinement import address_on, python_in_namespace_of
from tests.containers.organizers import Campaign, open_campaign
from tests.support.factories import PASSPHRASE
from tests.support.http import call

ROUNDS = 20
pytestmark = pytest.mark.world("onion")
ONION_ROUNDS = """
import json, random, sys
from crypto.encoding import b64u_decode
from organizer.watch.check import Target, run_round
t = json.loads(sys.argv[1])
target = Target(t["url"], t["coalition_id"], b64u_decode(t["signing_key"]), tuple(t["ids"]))
out = []
for n in range(t["rounds"]):
    r = run_round(target, rng=random.Random(n))
    out.append([[f.line() for f in r.findings], r.unreachable, r.visits])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def campaign(deployment: Deployment, module_tmp: Path) -> Campaign:
    return open_campaign(deployment, module_tmp)


def test_through_caddy_over_https_with_gzip_20_rounds_find_nothing(deployment: Deployment,
                                                                   campaign: Campaign) -> None:
    page = call(deployment.base_url, "GET", f"/p/{campaign.campaign_id}",
                headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert page.headers.get("content-encoding") == "gzip"  # what the watch's clients get too
    target = service.plan(Session.open(campaign.keystore, PASSPHRASE)).target
    for n in range(ROUNDS):
        result = run_round(target, rng=random.Random(n))
        assert result.findings == [], (n, [f.line() for f in result.findings])
        assert result.unreachable == [], (n, result.unreachable)
        assert result.visits == 10


def test_through_the_onion_listener_20_rounds_find_nothing(deployment: Deployment,
                                                           campaign: Campaign) -> None:
    session = Session.open(campaign.keystore, PASSPHRASE)
    facts = {"coalition_id": session.coalition_id, "signing_key": b64u_encode(session.signing_public),
             "ids": [campaign.campaign_id], "rounds": ROUNDS,
             "url": f"http://{address_on(deployment, 'caddy', 'onion')}:8081"}
    done = python_in_namespace_of(deployment, "tor", ONION_ROUNDS, json.dumps(facts),
                                  env=("XDG_DATA_HOME=/data",), timeout=900)
    rounds = json.loads(done)
    assert len(rounds) == ROUNDS
    for findings, unreachable, visits in rounds:
        assert findings == []
        assert unreachable == []
        assert visits == 10
