"""A server that pages the roster dishonestly: a real HTTP server on loopback, serving what an
attacker holding the box would, and the real organizer tool reading from it (issue 13, finding 4)."""

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crypto.pledge_page import encode_page
from organizer import roster, rotation
from organizer.errors import PagesOutOfOrder
from organizer.session import Session
from tests.support.factories import PASSPHRASE

CAMPAIGN = "C" * 22
IDS = [f"id{n:04d}" for n in range(6)]
MAX_REQUESTS = 40  # the fake server ends its game here, so a tool that loops still ends the test

# after -> (ids on the page, next); each game is one way of cheating
Game = Callable[[str], tuple[list[str], str | None]]


def row(pledge_id: str) -> tuple[str, str, int, bytes]:
    return pledge_id, "2026-12-01", 1, bytes(1072)


class FakeServer:
    def __init__(self, game: Game) -> None:
        self.game, self.requests = game, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests += 1
                after = parse_qs(urlsplit(self.path).query).get("after", [""])[0]
                ids, nxt = fake.game(after) if fake.requests < MAX_REQUESTS else ([], None)
                body = encode_page([row(i) for i in ids], nxt)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def session(tmp_path: Path) -> Session:
    session = Session.create(tmp_path / "k.json", PASSPHRASE)
    session.data["coalition"] = {"coalition_id": "K" * 22, "organizer_id": "O" * 22,
                                 "signing_key": "A" * 43, "role": "admin", "status": "active"}
    session.remember_secret("encryption", 1, bytes(32))
    return session


def read_roster(session: Session, game: Game) -> tuple[FakeServer, Iterator[dict[str, object]]]:
    fake = FakeServer(game)
    session.data["server"] = fake.url
    return fake, roster._pages(session, CAMPAIGN)


def the_same_page_for_ever(after: str) -> tuple[list[str], str | None]:
    return IDS[:3], IDS[2]


def next_points_backwards(after: str) -> tuple[list[str], str | None]:
    return (IDS[:3], IDS[0]) if after == "" else (IDS[1:4], None)


def an_id_twice(after: str) -> tuple[list[str], str | None]:
    return [IDS[0], IDS[1], IDS[1], IDS[2]], None


def ids_going_down(after: str) -> tuple[list[str], str | None]:
    return [IDS[3], IDS[1]], None


def empty_pages_that_go_on(after: str) -> tuple[list[str], str | None]:
    return [], IDS[(IDS.index(after) + 1) % len(IDS)] if after else IDS[0]


@pytest.mark.parametrize("game", [the_same_page_for_ever, next_points_backwards, an_id_twice,
                                  ids_going_down, empty_pages_that_go_on])
def test_a_server_that_loops_or_repeats_is_stopped_with_one_sentence(session: Session,
                                                                     game: Game) -> None:
    fake, pages = read_roster(session, game)
    seen: list[str] = []

    def read_all() -> None:
        for rows in pages:
            seen.extend(r.pledge_id for r in rows)

    try:
        with pytest.raises(PagesOutOfOrder) as info:
            read_all()
        assert fake.requests <= 3  # stopped at once, not after the fake server gave up
        assert len(seen) == len(set(seen))  # nothing was handed on twice
        assert "\n" not in str(info.value)
    finally:
        fake.close()


def test_an_honest_server_s_pages_are_read_to_the_end(session: Session) -> None:
    def honest(after: str) -> tuple[list[str], str | None]:
        rest = [i for i in IDS if i > after]
        return (rest[:2], rest[1]) if len(rest) > 2 else (rest, None)

    fake, pages = read_roster(session, honest)
    try:
        assert [r.pledge_id for rows in pages for r in rows] == IDS
        tally = roster.Tally()
        # the fake serves pages only, no descriptor: no fields to check answers against
        assert list(roster.pledges(session, CAMPAIGN, tally, fields=[])) == []
        assert tally.unopened == len(IDS)  # zero bytes open nothing, and are counted, once each
    finally:
        fake.close()


def test_re_encryption_pages_are_held_to_the_same_rule(session: Session) -> None:
    """The next list an attacker would loop: stale pledges during `key reencrypt`."""
    requests = 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            nonlocal requests
            requests += 1
            pledges = [{"pledge_id": i, "key_version": 1, "ciphertext": ""} for i in IDS[:2]]
            body = json.dumps({"pledges": pledges, "next": IDS[1] if requests < MAX_REQUESTS else None})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        session.data["server"] = f"http://127.0.0.1:{httpd.server_address[1]}"
        pages = rotation._stale_pages(session.client(), CAMPAIGN, 2)
        assert next(pages)
        with pytest.raises(PagesOutOfOrder):
            next(pages)
        assert requests == 2
    finally:
        httpd.shutdown()
        httpd.server_close()
