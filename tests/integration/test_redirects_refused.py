"""The organizer tool never follows a redirect (finding 17.10), against real loopback servers.

A server (compromised, or an address that now belongs to someone else) that answers 30x could
otherwise send the tool's signed requests, with their signature headers, to any host: into the
laptop's own network (blind requests to a router's page), from https to http, or have any bytes
served as the app's CSS. Each test has a server that redirects and a second one, the target,
that records every request it gets: the target must get none, and the organizer reads one
plain sentence.
"""

import os
import subprocess
from collections.abc import Iterator

import pytest

from crypto.identity import OrganizerIdentity
from organizer.app import preview
from organizer.client import Client
from organizer.errors import ServerRedirected
from tests.support.factories import PASSPHRASE
from tests.support.loopback import Loopback
from tests.support.scripts import console_script

REDIRECTS = [301, 302, 303, 307, 308]


@pytest.fixture
def target() -> Iterator[Loopback]:
    """Where a redirect points: a page on the laptop's network, or a host serving anything."""
    server = Loopback(answer=(200, {"Content-Type": "text/css"},
                              b"body{background:url(//evil.example/x)}")).start()
    yield server
    server.stop()


@pytest.fixture
def redirector() -> Iterator[Loopback]:
    server = Loopback().start()
    yield server
    server.stop()


def client_for(url: str) -> Client:
    me = OrganizerIdentity.generate()
    return Client(url, me.fingerprint, me.sign_secret)


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_client_sends_nothing_where_a_redirect_points(redirector, target, status, method):
    redirector.answer = (status, {"Location": target.url + "/router-admin?reset=1"}, b"")
    client = client_for(redirector.url)
    payload = None if method == "GET" else {"x": 1}
    with pytest.raises(ServerRedirected) as raised:
        client.request(method, "/api/v1/campaigns", payload)
    assert len(redirector.seen) == 1
    assert target.seen == []  # neither the request nor its signature headers went anywhere else
    sentence = str(raised.value)
    assert sentence.count(".") == 1
    assert sentence.endswith(".")
    assert "http" not in sentence  # the server's chosen address is not repeated to the organizer


def test_a_redirect_within_the_same_server_is_refused_too(redirector, target):
    """Also to its own host: an https server's `Location: http://…` is the same host's other
    scheme, and nothing the organizers' API answers is ever a redirect."""
    redirector.answer = (302, {"Location": "/elsewhere"}, b"")
    with pytest.raises(ServerRedirected):
        client_for(redirector.url).get("/api/v1/organizers/me")
    assert [seen[1] for seen in redirector.seen] == ["/api/v1/organizers/me"]


def test_the_command_line_says_one_sentence_and_exits_1(tmp_path, redirector, target):
    redirector.answer = (307, {"Location": target.url + "/"}, b"")
    keystore = tmp_path / "keystore.json"
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    script = console_script("pledgebox")
    made = subprocess.run([script, "--keystore", str(keystore), "init"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    run = subprocess.run([script, "--keystore", str(keystore), "coalition", "create", "--server",
                          redirector.url, "--setup-code", "x", "--name", "N"], capture_output=True,
                         text=True, env=env, timeout=120, check=False)
    assert run.returncode == 1
    assert run.stderr.strip() == f"pledgebox: {ServerRedirected()}"
    assert "Traceback" not in run.stderr
    assert target.seen == []


@pytest.mark.parametrize("status", REDIRECTS)
def test_the_preview_never_serves_what_a_redirect_points_to(redirector, target, status):
    """The front page, then the stylesheet it links, each redirecting: the preview has no look
    rather than another host's bytes as the app's CSS."""
    redirector.answer = (status, {"Location": target.url + "/x.css"}, b"")
    assert preview.server_stylesheet(redirector.url) is None
    assert target.seen == []
    front = b'<link rel="stylesheet" href="/static/css/pledgebox.abc.css">'
    redirector.answer = (200, {"Content-Type": "text/html"}, front)
    assert preview._stylesheet_address(redirector.url) == redirector.url + "/static/css/pledgebox.abc.css"
    redirector.answer = (status, {"Location": target.url + "/x.css"}, b"")
    assert preview._get(redirector.url + "/static/css/pledgebox.abc.css") is None
    assert target.seen == []

