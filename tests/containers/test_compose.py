"""deploy/compose.yaml (Caddy + one app on SQLite, and Tor: profile `onion`), run with podman.

Through Caddy over HTTPS: a pledge is accepted and opened by `pledgebox roster`; the app's
security headers arrive intact; no log anywhere holds a request. Then the app container is
killed (SIGKILL) in the middle of a stream of pledges: every acknowledged pledge is there after
the restart, because the data volume is real.

Runs on the shared `onion` world (tests/containers/worlds.py; test_watch_deployed.py runs on it
next). What this module changes there it puts back: the app container killed, and later stopped,
is started again and waited for (through Caddy) before the test ends; the pledges it adds belong
to this module's own campaign and coalition, which no other module reads.
"""

import gzip
import json
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Self

import pytest

from tests.containers.compose import Deployment
from tests.containers.confinement import (
    address_on,
    assert_all_confined,
    connect_from,
    connections_from,
    network_namespace,
    python_in_namespace_of,
    routes_out,
)
from tests.containers.images import run
from tests.containers.organizers import Campaign, open_campaign
from tests.support.factories import PledgeReceipt, pledge
from tests.support.hardening import assert_hardened
from tests.support.http import call

SENTINEL = "pbsentinel" + secrets.token_hex(6)
# With the onion profile: Tor in a network namespace of its own (kept off the Tor network).
pytestmark = pytest.mark.world("onion")


@pytest.fixture(scope="module")
def campaign(deployment: Deployment, module_tmp: Path) -> Campaign:
    return open_campaign(deployment, module_tmp)


def test_a_pledge_through_caddy_over_https_is_opened_by_the_roster(deployment: Deployment,
                                                                    campaign: Campaign) -> None:
    sent = pledge(deployment.base_url, campaign.campaign_id,
                  {"school": "covina-high", "message": f"walking out {SENTINEL}"})
    rows = campaign.roster()
    assert [r["pledge_id"] for r in rows] == [sent.pledge_id]
    assert rows[0]["answers"]["message"] == f"walking out {SENTINEL}"


def test_the_apps_security_headers_pass_through_caddy(deployment: Deployment, campaign: Campaign) -> None:
    for path in ("/", "/healthz", f"/p/{campaign.campaign_id}", f"/api/v1/campaigns/{campaign.campaign_id}",
                 "/nothing-here"):
        reply = call(deployment.base_url, "GET", path)
        # The one header Caddy adds, with the onion profile on (its value is checked below).
        assert reply.headers.pop("onion-location", "").endswith(".onion" + path)
        # HSTS too: Caddy says the request came over TLS and the app trusts exactly that one hop.
        assert_hardened(reply, f"GET {path} through Caddy", tls=True)
    page = call(deployment.base_url, "GET", f"/p/{campaign.campaign_id}", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert b"<html" in gzip.decompress(page.body)


def test_no_log_anywhere_holds_a_request(deployment: Deployment, campaign: Campaign) -> None:
    agent = {"User-Agent": f"Mozilla/5.0 {SENTINEL}-agent", "Referer": f"https://{SENTINEL}.example/",
             "X-Forwarded-For": "198.51.100.77"}
    for path in (f"/p/{campaign.campaign_id}?{SENTINEL}=q", f"/{SENTINEL}-missing", "/healthz"):
        call(deployment.base_url, "GET", path, headers=agent)
    call(deployment.base_url, "POST", f"/api/v1/campaigns/{campaign.campaign_id}/pledges",
         raw=b"{not json", headers={**agent, "Content-Type": "application/json"})
    pledge(deployment.base_url, campaign.campaign_id)
    # What the containers see as the visitor's address: a gateway of Caddy's networks.
    network = sorted(deployment.client_addresses("caddy"))
    forbidden = [SENTINEL, campaign.campaign_id, "198.51.100.77", "Mozilla", "/api/v1", "/p/", "HTTP/1.1",
                 "HTTP/2", *network]
    for service in ("app", "caddy", "tor"):
        text = deployment.logs(service)
        assert text.strip(), f"{service} logged nothing at all: is this the right container?"
        found = [word for word in forbidden if word in text]
        assert not found, f"{service}'s log holds {found}:\n{text[-2000:]}"
    # No log file written anywhere: not in the containers' own layers, not in their volumes.
    for service in ("app", "caddy"):
        changed = deployment.podman("diff", deployment.container(service))
        assert not [line for line in changed.splitlines() if "log" in line.rsplit("/", 1)[-1]], changed
    data = deployment.podman("exec", deployment.container("app"), "ls", "-A", "/data").split()
    assert set(data) <= {"pledgebox.sqlite3", "pledgebox.sqlite3-wal", "pledgebox.sqlite3-shm"}, data
    caddy_files = deployment.podman("exec", deployment.container("caddy"), "find",
                                    "/var/lib/pledgebox-caddy", "/tmp", "/data", "/config", "-type", "f")
    assert "log" not in caddy_files.replace("catalog", ""), caddy_files


class PledgeStream:
    """Pledges one after another in a thread; keeps the receipts of those the server acknowledged."""

    def __init__(self, base_url: str, campaign_id: str) -> None:
        self.base_url, self.campaign_id = base_url, campaign_id
        self.acked: list[PledgeReceipt] = []
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.acked.append(pledge(self.base_url, self.campaign_id))
            except (AssertionError, OSError, ValueError, KeyError):
                self.failures += 1  # refused or cut off: never acknowledged, so never promised
                time.sleep(0.05)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)


def test_killing_the_app_mid_stream_loses_no_acknowledged_pledge(deployment: Deployment,
                                                                 campaign: Campaign, trust: Path) -> None:
    before = {r["pledge_id"] for r in campaign.roster()}
    app = deployment.container("app")
    volume = deployment.podman("volume", "inspect", f"{deployment.project}_data", "--format",
                               "{{.Mountpoint}}").strip()
    started = _started(deployment, app)
    with PledgeStream(deployment.base_url, campaign.campaign_id) as stream:
        deadline = time.monotonic() + 60
        while len(stream.acked) < 15:
            assert time.monotonic() < deadline, "the stream never got going"
            time.sleep(0.05)
        deployment.podman("kill", "--signal", "KILL", app)  # no shutdown, no flush, no goodbye
        acked_at_kill = len(stream.acked)
        time.sleep(1.0)  # the stream goes on against a dead app (Caddy retries for 5 s)
        if deployment.podman("inspect", app, "--format", "{{.State.Running}}").strip() != "true":
            deployment.podman("start", app)  # what restart: unless-stopped does, where it can
        deployment.wait_ready(trust)
        time.sleep(1.0)  # and after the restart
    assert _started(deployment, app) != started, "the app was not killed and started again"
    assert len(stream.acked) > acked_at_kill + 1, "no pledge was acknowledged after the restart"
    assert Path(volume, "pledgebox.sqlite3").is_file()  # a real volume on the host
    stored = {r["pledge_id"] for r in campaign.roster()}
    lost = {r.pledge_id for r in stream.acked} - stored
    assert not lost, f"{len(lost)} acknowledged pledges lost"
    assert before <= stored



def _started(deployment: Deployment, container: str) -> str:
    return deployment.podman("inspect", container, "--format", "{{.State.StartedAt}}").strip()


def onion_listener(deployment: Deployment) -> str:
    """Caddy's onion listener: its fixed address on the `onion` network, which only Tor shares."""
    return f"http://{address_on(deployment, 'caddy', 'onion')}:8081"


def test_caddys_onion_listener_serves_the_app_to_tors_namespace_only(deployment: Deployment) -> None:
    """Where the onion profile's Tor hands its visitors: reached from Tor's namespace, not from the
    apps' network nor from Caddy's own loopback (where it was while Tor shared Caddy's namespace)."""
    fetch = ("import urllib.request as u; r = u.urlopen('{url}/healthz', timeout=5); "
             "print(r.status, r.read().decode(), 'hsts' if r.headers['Strict-Transport-Security'] else '')")
    url = onion_listener(deployment)
    caddy_address = deployment.settings["PLEDGEBOX_ONION_CADDY_IP"]
    assert url == f"http://{caddy_address}:8081"
    tor_command = deployment.podman("inspect", deployment.container("tor"), "--format",
                                    "{{json .Config.Cmd}}")
    assert f"80 {caddy_address}:8081" in json.loads(tor_command)  # Tor's HiddenServicePort
    inside = python_in_namespace_of(deployment, "tor", fetch.format(url=url))
    assert inside.split() == ["200", '{"status":"ok"}']  # plain HTTP, so no HSTS
    for host in ("caddy", caddy_address):
        outside = run(["podman", "exec", deployment.container("app"), "python3", "-c",
                       fetch.format(url=f"http://{host}:8081")], check=False)
        assert outside.returncode != 0, host
        assert "Connection refused" in outside.stderr or "unreachable" in outside.stderr, outside.stderr
    assert connect_from(deployment, "caddy", "127.0.0.1", 8081) == "ConnectionRefusedError"


def test_the_onion_profile_makes_an_onion_address_and_keeps_its_keys_in_a_volume(
        deployment: Deployment) -> None:
    tor = deployment.container("tor")
    assert deployment.podman("exec", tor, "id", "-un").strip() == "debian-tor"
    address = deployment.podman("exec", tor, "cat", "/var/lib/tor/pledgebox/hostname").strip()
    assert re.fullmatch(r"[a-z2-7]{56}\.onion", address), address
    volume = deployment.podman("volume", "inspect", f"{deployment.project}_tor-data",
                               "--format", "{{.Mountpoint}}").strip()
    assert Path(volume, "pledgebox", "hs_ed25519_secret_key").is_file()


def test_tor_has_a_network_namespace_of_its_own_and_reaches_only_caddy(deployment: Deployment) -> None:
    """Issue 17, finding 12: Tor shared Caddy's network namespace, so a compromised Tor reached the
    apps' port 8080 directly and chose its own X-Forwarded-For (its rate-limit bucket)."""
    assert network_namespace(deployment, "tor") != network_namespace(deployment, "caddy")
    mode = deployment.podman("inspect", deployment.container("tor"), "--format",
                             "{{.HostConfig.NetworkMode}}").strip()
    assert not mode.startswith("container:"), mode
    app_address = address_on(deployment, "app", "default")
    # by name and by address; then Caddy's onion listener, which Tor must reach
    from_tor = connections_from(deployment, "tor",
                                [("app", 8080), (app_address, 8080),
                                 (deployment.settings["PLEDGEBOX_ONION_CADDY_IP"], 8081)])
    for target, outcome in zip(("app", app_address), from_tor[:2], strict=True):
        assert outcome != "connected", target
    assert connect_from(deployment, "caddy", "app", 8080) == "connected"  # the probe itself works
    assert from_tor[2] == "connected"


def test_caddy_writes_nothing_about_a_request_while_the_app_is_down(deployment: Deployment,
                                                                     campaign: Campaign, trust: Path) -> None:
    """Issue 17, finding 4: every proxy error (no upstream, refused, EOF) was logged by Caddy's
    `http.log.error` with the visitor's address, the URI and every header. Caddy runs with the app
    stopped here, as it does at every restart, upgrade or crash."""
    agent = {"User-Agent": f"Mozilla/5.0 {SENTINEL}-down", "Referer": f"https://{SENTINEL}-down.example/"}
    app = deployment.container("app")
    deployment.podman("stop", "--time", "5", app)
    try:
        page = f"/p/{campaign.campaign_id}?{SENTINEL}=down"
        replies = [call(deployment.base_url, "GET", page, headers=agent),
                   call(deployment.base_url, "POST", f"/api/v1/campaigns/{campaign.campaign_id}/pledges",
                        body={"ciphertext": SENTINEL}, headers=agent)]
        assert {r.status for r in replies} <= {502, 503}, [r.status for r in replies]
        onion = onion_listener_get(deployment, f"/p/{campaign.campaign_id}?{SENTINEL}=onion", agent)
        assert onion in {"502", "503"}, onion
    finally:
        deployment.podman("start", app)
        deployment.wait_apps_ready()
        deployment.wait_ready(trust)
    request = [SENTINEL, campaign.campaign_id, "Mozilla", *deployment.client_addresses("caddy"),
               address_on(deployment, "tor", "onion")]  # where onion visitors come from
    text = deployment.logs("caddy")
    found = [word for word in [*request, "remote_ip", "User-Agent"] if word in text]
    assert not found, f"Caddy's log holds {found}:\n{text[-3000:]}"
    assert "tls" in text  # Caddy's certificate lines are still written
    assert not deployment.files_holding("caddy", request)


def onion_listener_get(deployment: Deployment, path: str, headers: dict[str, str]) -> str:
    """GET `path` from Caddy's onion listener, from Tor's namespace (where Tor reaches it); the status."""
    fetch = ("import sys, urllib.request as u, urllib.error as e\n"
             f"q = u.Request('{onion_listener(deployment)}{path}', headers={headers!r})\n"
             "try: print(u.urlopen(q, timeout=20).status)\n"
             "except e.HTTPError as x: print(x.code)\n")
    return python_in_namespace_of(deployment, "tor", fetch).strip()


def test_caddy_tor_and_the_app_are_unprivileged_on_read_only_roots(deployment: Deployment) -> None:
    """Issue 17, finding 12: Caddy ran as root with every capability."""
    assert_all_confined(deployment, ("caddy", "tor", "app"))
    # Only Caddy (certificates) and Tor (the Tor network), each on a network of its own, have a way out.
    assert routes_out(deployment, ("caddy", "tor", "app")) == ["caddy", "tor"]


def test_the_clearnet_site_offers_the_onion_address_by_itself(deployment: Deployment) -> None:
    """Issue 17, finding 12: Onion-Location needed a manual edit of the Caddyfile. With the onion
    profile on, Tor publishes its address (not its keys) and Caddy sends it."""
    address = deployment.podman("exec", deployment.container("tor"), "cat",
                                "/var/lib/tor/pledgebox/hostname").strip()
    for path in ("/", "/healthz?x=1"):
        reply = call(deployment.base_url, "GET", path)
        assert reply.headers.get("onion-location") == f"http://{address}{path}", reply.headers
    published = deployment.podman("exec", deployment.container("caddy"), "ls", "-A", "/var/lib/onion-address")
    assert published.split() == ["hostname"]  # the address only: no key ever leaves Tor's volume
