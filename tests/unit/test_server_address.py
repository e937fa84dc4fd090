"""organizer/server_address.py: https everywhere; plain http only where no network is crossed."""

from pathlib import Path

import pytest

from organizer import coalition, members, server_address
from organizer.client import Client
from organizer.server_address import InsecureServerAddress
from organizer.session import Session
from tests.support.factories import PASSPHRASE

ALLOWED = ["https://pledges.example.org", "https://pledges.example.org:8443/", "http://127.0.0.1:8080",
           "http://127.5.6.7", "http://[::1]:9000", "http://localhost:5000", "http://LOCALHOST",
           "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion",
           "http://pledges.onion."]
REFUSED = ["http://pledges.example.org", "http://192.168.1.20:8000", "http://10.0.0.5",
           "http://[fe80::1]", "http://0.0.0.0:8000", "http://localhost.evil.example",
           "http://127.0.0.1.evil.example", "http://onion.example.org", "http://[::ffff:10.0.0.1]",
           "ftp://pledges.example.org", "file:///etc/passwd",
           "https://user:secret@pledges.example.org", "https://pledges.example.org/?x=1",
           "https://pledges.example.org/#k=abc", "https://", ""]


@pytest.mark.parametrize("url", ALLOWED)
def test_https_loopback_and_onion_are_accepted(url: str) -> None:
    assert server_address.check(url) == url.strip().rstrip("/")


@pytest.mark.parametrize("url", REFUSED)
def test_everything_else_is_refused_in_one_sentence(url: str) -> None:
    with pytest.raises(InsecureServerAddress) as info:
        server_address.check(url)
    assert "\n" not in str(info.value)


def test_the_client_refuses_before_any_request() -> None:
    sent: list[str] = []

    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        sent.append(url)
        return 200, b"{}"

    with pytest.raises(InsecureServerAddress, match="same Wi-Fi"):
        Client("http://192.168.1.20:8000", "id", bytes(64), transport)
    assert sent == []


def test_create_join_and_moving_the_server_all_refuse_plain_http(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "k.json", PASSPHRASE)
    with pytest.raises(InsecureServerAddress):
        coalition.create(session, "http://pledges.example.org", "code", "Coalition")
    invite = members.Invite("http://192.168.1.20:8000", "c" * 22, "Coalition", "A" * 43, "member",
                            bytes(32))
    with pytest.raises(InsecureServerAddress):
        members.join(session, invite)
    session.data["coalition"] = {"coalition_id": "c" * 22, "organizer_id": "o", "signing_key": "A" * 43}
    session.data["server"] = "https://pledges.example.org"
    with pytest.raises(InsecureServerAddress):
        coalition.set_server(session, "http://10.0.0.5:8000")
    assert Session.open(tmp_path / "k.json", PASSPHRASE).data["server"] is None  # nothing saved
