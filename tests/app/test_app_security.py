"""The organizer app's guard, against a real app server on a loopback port.

Token (single use, exchanged for an HttpOnly SameSite=Strict cookie, then a clean address), Host
(DNS rebinding), Origin and CSRF on every state-changing request, headers on every answer, and the
idle lock with a movable clock. Loopback binding and Ctrl-C are in test_app_command.py.
"""

import pytest

from tests.support.factories import PASSPHRASE
from tests.support.organizer_app import Browser

REBINDING_HOSTS = [
    "evil.example:{port}",                 # a rebinding page under its own name
    "127.0.0.1.nip.io:{port}",             # resolves to loopback, still another name
    "localhost.attacker.example:{port}",
    "127.0.0.1:{other}",                    # right name, wrong port
    "localhost",                            # no port
    "127.0.0.1",
    "[::1]:{port}",
    "0.0.0.0:{port}",
    "127.0.0.2:{port}",
    "LOCALHOST.:{port}",
]


def test_first_address_is_exchanged_once_for_a_strict_cookie_then_a_clean_address(running):
    b = Browser(running)
    token = running.state.token
    assert running.state.first_url() == f"http://127.0.0.1:{running.port}/?token={token}"
    answer = b.get(f"/?token={token}")
    assert answer.status == 303
    assert answer.location == "/"  # the token leaves the address bar (and history)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie
    assert b.cookie
    assert b.cookie != token
    assert b.get("/").status != 401

    stranger = Browser(running)
    second = stranger.get(f"/?token={token}")
    assert second.status == 401  # single use
    assert "Set-Cookie" not in second.headers
    assert stranger.get("/").status == 401


@pytest.mark.parametrize("path", ["/", "/welcome", "/unlock", "/organizers", "/static/app.js",
                                  "/backup", "/nowhere"])
def test_without_the_cookie_every_address_answers_401(running, path):
    b = Browser(running)
    assert b.get(path).status == 401
    assert b.get("/?token=wrong-token").status == 401
    b.cookie = "made-up-value"
    assert b.get(path).status == 401


def test_a_wrong_token_neither_works_nor_spends_the_real_one(running):
    b = Browser(running)
    assert b.get("/?token=" + "A" * 43).status == 401
    assert b.get(f"/?token={running.state.token}").status == 303


@pytest.mark.parametrize("host", REBINDING_HOSTS)
def test_a_foreign_host_is_refused_before_anything_else(running, host):
    b = Browser(running)
    token = running.state.token
    b.host = host.format(port=running.port, other=running.port + 1)
    refused = b.get(f"/?token={token}")
    assert refused.status == 403
    assert "Set-Cookie" not in refused.headers
    assert running.state.token == token  # a rebinding page cannot spend (or learn) the token
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'self'")
    b.host = ""
    assert b.get(f"/?token={token}").status == 303  # the real address still works
    b.host = host.format(port=running.port, other=running.port + 1)
    assert b.get("/").status == 403  # even with the session cookie


def test_both_loopback_names_are_accepted(running):
    b = Browser(running)
    b.host = f"localhost:{running.port}"
    assert b.get(f"/?token={running.state.token}").status == 303
    assert b.get("/welcome").status == 200


@pytest.mark.parametrize("origin", [None, "null", "http://evil.example", "https://127.0.0.1:{port}",
                                    "http://127.0.0.1:{other}", "http://localhost:{port}",
                                    "http://127.0.0.1:{port}/path"])
def test_state_changes_need_our_own_origin(browser_in, running, origin):
    if origin is not None:
        origin = origin.format(port=running.port, other=running.port + 1)
    answer = browser_in.post("/passphrase/estimate", {"passphrase": "x"}, origin=origin)
    assert answer.status == 403
    assert browser_in.post("/passphrase/estimate", {"passphrase": "x"}).status == 200


def test_state_changes_need_the_csrf_token(browser_in):
    assert browser_in.post("/passphrase/estimate", {"passphrase": "x"}, csrf=False).status == 403
    wrong = {"passphrase": "x", "csrf_token": "not-it"}
    assert browser_in.post("/passphrase/estimate", wrong).status == 403
    header = browser_in.post("/passphrase/estimate", {"passphrase": "x"}, csrf=False,
                             headers={"X-CSRF-Token": browser_in.csrf})
    assert header.status == 200
    assert header.body.startswith(b"{")


def test_a_refused_form_changes_nothing(browser_in, running, keystore):
    form = {"passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}
    assert browser_in.post("/welcome/create", form, csrf=False).status == 403
    assert browser_in.post("/welcome/create", form, origin="http://evil.example").status == 403
    assert not keystore.exists()
    assert browser_in.post("/welcome/create", form).status == 303
    assert keystore.exists()
    assert running.state.session is not None


@pytest.mark.parametrize("path", ["/", "/welcome", "/static/app.js", "/static/app.css", "/nowhere"])
def test_every_answer_carries_the_headers(browser_in, path):
    answer = browser_in.get(path)
    h = answer.headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert h["Cache-Control"] == "no-store"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in ("no-referrer", "same-origin")
    assert h["X-Frame-Options"] == "DENY"
    assert "Werkzeug" not in (h.get("Server") or "")


def test_pages_have_no_inline_script(browser_in):
    for path in ("/", "/welcome"):
        text = browser_in.get(path).text
        assert "<script>" not in text
        assert " on" + "click=" not in text


def unlocked(browser_in: Browser, made_keystore) -> Browser:
    answer = browser_in.post("/unlock", {"passphrase": PASSPHRASE, "next": "/"})
    assert answer.status == 303
    assert answer.location == "/"
    return browser_in


def test_unlock_refuses_a_wrong_passphrase_and_says_so(browser_in, made_keystore, running):
    answer = browser_in.post("/unlock", {"passphrase": "not the passphrase at all", "next": "/"})
    assert answer.status == 303
    assert answer.location.startswith("/unlock")
    assert running.state.session is None
    assert "does not unlock this keystore" in browser_in.get(answer.location).text


def test_unlock_never_sends_the_browser_to_another_site(browser_in, made_keystore):
    answer = browser_in.post("/unlock", {"passphrase": PASSPHRASE, "next": "//evil.example/x"})
    assert answer.location == "/"


def test_idle_for_15_minutes_locks_and_drops_the_keys(browser_in, made_keystore, running):
    unlocked(browser_in, made_keystore)
    assert running.state.session is not None
    running.clock.advance(14 * 60)
    assert browser_in.get("/").status == 200  # still open, and this counts as activity
    running.clock.advance(14 * 60)
    assert browser_in.get("/").status == 200
    assert running.state.session is not None
    running.clock.advance(15 * 60 + 1)
    answer = browser_in.get("/organizers")
    assert running.state.session is None  # the unlocked keystore is no longer held
    assert answer.status == 303
    assert answer.location.startswith("/unlock?next=/organizers")
    assert "Unlock your keystore" in browser_in.get(answer.location).text
    unlocked(browser_in, made_keystore)
    assert running.state.session is not None


def test_background_requests_do_not_keep_the_keys_unlocked(browser_in, made_keystore, running):
    unlocked(browser_in, made_keystore)
    for _ in range(4):
        running.clock.advance(5 * 60)
        browser_in.post("/passphrase/estimate", {"passphrase": "x"},
                        headers={"X-Pledgebox-Background": "1"})
    assert running.state.session is None


def test_the_app_locks_on_its_own_without_any_request(browser_in, made_keystore, running):
    from organizer.app.upkeep import Upkeep

    unlocked(browser_in, made_keystore)
    upkeep = Upkeep(running.state)
    upkeep.tick()
    assert running.state.session is not None
    running.clock.advance(15 * 60)
    upkeep.tick()
    assert running.state.session is None


def test_lock_button_drops_the_keys(browser_in, made_keystore, running):
    unlocked(browser_in, made_keystore)
    assert browser_in.post("/lock").status == 303
    assert running.state.session is None
    assert browser_in.get("/").location.startswith("/unlock")


def test_every_form_of_a_page_carries_the_csrf_token(browser_in):
    text = browser_in.get("/welcome").text
    forms = text.count("<form")
    assert forms >= 2
    assert text.count(f'name="csrf_token" value="{browser_in.csrf}"') == forms


def test_a_backup_is_restored_only_with_its_passphrase(tmp_path):
    from crypto import WrongPassphrase
    from organizer.errors import BadInput
    from organizer.session import Session, restore_backup

    original = tmp_path / "old" / "keystore.json"
    Session.create(original, PASSPHRASE)
    target = tmp_path / "new" / "keystore.json"
    backup = original.read_bytes()
    with pytest.raises(WrongPassphrase):
        restore_backup(target, backup, "not the right passphrase")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary copy left behind
    restored = restore_backup(target, backup, PASSPHRASE)
    assert target.read_bytes() == backup
    assert restored.identity.fingerprint == Session.open(original, PASSPHRASE).identity.fingerprint
    with pytest.raises(BadInput):
        restore_backup(target, backup, PASSPHRASE)  # never over an existing keystore


def test_locking_also_drops_what_was_opened_with_the_keys(browser_in, made_keystore, running):
    opened = running.server.app.extensions["pledgebox_rosters"]
    unlocked(browser_in, made_keystore)
    opened._session = running.state.session  # as after the roster page opened a campaign
    called = []
    running.state.on_lock.append(lambda: called.append(True))
    running.clock.advance(15 * 60)
    browser_in.get("/")
    assert called == [True]
    assert opened._session is None
    unlocked(browser_in, made_keystore)
    browser_in.post("/lock")
    assert called == [True, True]


# Addresses a page elsewhere could put in `next` (finding 17.9): browsers drop tabs and line
# breaks from a Location and read a backslash as a slash, so `/\t/evil.com` is `//evil.com`.
HOSTILE_NEXT = ["/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%0D%0A/x",
                "//evil.example", "/\\evil.example", "/%5cevil.example", "https://evil.example/",
                "http:evil.example", "/%2f/evil.example", "///evil.example", "%20/x", "/%20/evil.example",
                "javascript:alert(1)", "/%00", "/nowhere-in-this-app", "/static/../../etc/passwd",
                "evil.example", "/%E2%80%8B/evil.example"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_sends_only_to_the_apps_own_pages(browser_in, made_keystore, target):
    """Unlock (both ways) and the language switch redirect only to a route this app has."""
    for answer in (browser_in.get(f"/unlock?next={target}"),
                   browser_in.get(f"/language/es?next={target}")):
        assert answer.status in (200, 303), answer.text
        assert answer.location in ("", "/"), answer.location
    answer = browser_in.request("POST", f"/unlock?next={target}",
                                form={"passphrase": PASSPHRASE, "csrf_token": browser_in.csrf},
                                headers={"Origin": browser_in.app.origin})
    assert answer.status == 303
    assert answer.location == "/"
    browser_in.post("/lock")


def test_next_keeps_a_real_page_of_the_app_with_its_query(browser_in, made_keystore):
    page = browser_in.get("/unlock?next=/organizers")
    assert 'name="next" value="/organizers"' in page.text
    answer = browser_in.post("/unlock", {"passphrase": PASSPHRASE, "next": "/organizers?x=1&y=a%20b"})
    assert answer.location == "/organizers?x=1&y=a+b"
    # A next inside a next is re-encoded, and the inner one meets the same rule.
    answer = browser_in.get("/language/es?next=/unlock%3Fnext%3D//evil.example")
    assert answer.location == "/unlock?next=%2F%2Fevil.example"
    assert browser_in.get(answer.location).location == "/"


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Open Pledgebox from your terminal", "Ctrl-C", "<code>pledgebox app</code>"]),
    ("es-MX,es;q=0.9", ["Abre Pledgebox desde tu terminal", "Ctrl-C", "<code>pledgebox app</code>"]),
])
def test_a_browser_without_the_cookie_gets_a_page_that_looks_like_the_app_and_says_what_to_do(
        running, lang, words):
    """Issue 18, item 8: a new browser, a bookmark from an earlier run, or the used first address."""
    import base64
    import hashlib
    import re

    b = Browser(running)
    token = running.state.token
    for path in ("/", "/organizers", "/?token=" + "A" * 43):
        page = b.get(path, headers={"Accept-Language": lang})
        assert page.status == 401
        assert page.headers["Content-Type"].startswith("text/html")
        for word in words:
            assert word in page.text, (path, word)
        assert "`" not in page.text
        assert '<header class="top">' in page.text
        style = re.search(r"<style>(.*?)</style>", page.text, re.S)
        assert style is not None
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in page.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
        assert "<script" not in page.text
        assert "--brand" in style.group(1)  # the app's own stylesheet
    assert running.state.token == token  # none of this spends or shows the real token
    assert token not in page.text
    b.get(f"/?token={token}")
    used = Browser(running).get(f"/?token={token}", headers={"Accept-Language": lang})
    assert used.status == 401
    assert ("already used" in used.text) or ("ya se usó" in used.text)
