"""A campaign's pledges listed for organizers, in JSON and in the binary form the tool reads.

Both forms must carry the same pledges, page by page; a wrong `format` is a 400 in the error
shape; and the tool refuses a damaged binary page whole, in one sentence, yielding nothing
from it (the server is not trusted to frame its answers honestly).
"""

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crypto.encoding import b64u_decode
from crypto.pledge_page import MAGIC, MEDIA_TYPE, decode_page
from organizer import roster
from organizer.client import urllib_transport
from organizer.errors import DamagedPage, ServerRefused
from tests.support.factories import OrganizerHandle, make_campaign, make_coalition, pledge
from tests.support.hardening import assert_hardened
from tests.support.http import Reply, call
from tests.support.live import LiveServer

PLEDGES = 7


@pytest.fixture
def campaign(live_server: LiveServer, tmp_path: Path) -> tuple[OrganizerHandle, str]:
    admin = make_coalition(tmp_path, live_server.base_url)
    campaign_id = make_campaign(admin)
    for i in range(PLEDGES):
        pledge(live_server.base_url, campaign_id, {"school": "covina-high", "message": f"m{i}"})
    return admin, campaign_id


def _walk(admin: OrganizerHandle, campaign_id: str, form: str) -> list[list[tuple[str, str, int, bytes]]]:
    """Every page at 3 rows a page, as (pledge_id, day, version, ciphertext) rows."""
    client, path = admin.session.client(), f"/api/v1/org/campaigns/{campaign_id}/pledges"
    pages, after = [], ""
    while True:
        if form == "binary":
            page = decode_page(client.get_bytes(path, f"after={after}&limit=3&format=binary"))
            rows, nxt = [(r.pledge_id, r.received_day, r.key_version, r.ciphertext)
                         for r in page.rows], page.next
        else:
            reply = client.get(path, f"after={after}&limit=3")
            rows = [(r["pledge_id"], r["received_day"], r["key_version"],
                     b64u_decode(r["ciphertext"])) for r in reply["pledges"]]
            nxt = reply["next"]
        pages.append(rows)
        if not nxt:
            return pages
        after = nxt


def test_both_forms_carry_the_same_pledges_page_by_page(
        campaign: tuple[OrganizerHandle, str]) -> None:
    admin, campaign_id = campaign
    binary, as_json = _walk(admin, campaign_id, "binary"), _walk(admin, campaign_id, "json")
    assert binary == as_json
    assert [len(p) for p in binary] == [3, 3, 1]
    ids = [row[0] for page in binary for row in page]
    assert ids == sorted(ids)
    assert len(set(ids)) == PLEDGES


def test_a_format_other_than_json_or_binary_is_refused(
        campaign: tuple[OrganizerHandle, str]) -> None:
    admin, campaign_id = campaign
    with pytest.raises(ServerRefused, match="'format' must be json or binary"):
        admin.session.client().get_bytes(f"/api/v1/org/campaigns/{campaign_id}/pledges",
                                         "format=csv")


def _corrupting(damage: Callable[[bytes], bytes]) -> Callable[..., tuple[int, bytes]]:
    """The real server's answers, with binary pages damaged on the way back."""
    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        status, data = urllib_transport(method, url, body, headers)
        return status, damage(data) if data.startswith(MAGIC) else data
    return transport


@pytest.mark.parametrize("damage", [
    lambda d: d[:-1],                      # cut short inside the last ciphertext
    lambda d: d[:len(d) // 2],             # cut in the middle
    lambda d: d + b"\x00",                 # a byte after the last row
    lambda d: b"PBP2" + d[4:],             # another format
    lambda d: d[:4] + b"\xff\xff\xff\xff" + d[8:],  # more rows than anyone sends
], ids=["last-byte", "half", "trailing", "magic", "count"])
def test_the_tool_refuses_a_damaged_page_whole(campaign: tuple[OrganizerHandle, str],
                                              damage: Callable[[bytes], bytes]) -> None:
    admin, campaign_id = campaign
    assert len(list(roster.pledges(admin.session, campaign_id, roster.Tally()))) == PLEDGES
    admin.session.transport = _corrupting(damage)
    tally = roster.Tally()
    opened = []
    with pytest.raises(DamagedPage) as refused:
        opened.extend(roster.pledges(admin.session, campaign_id, tally))
    assert opened == []
    assert tally.opened == tally.unopened == 0
    message = str(refused.value)
    assert message.count(".") == 1
    assert message.endswith(".")
    assert "\n" not in message


def test_a_binary_page_is_hardened_like_every_answer(campaign: tuple[OrganizerHandle, str],
                                                     live_server: LiveServer) -> None:
    admin, campaign_id = campaign
    seen: list[Reply] = []

    def recording(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        parts = urlsplit(url)
        reply = call(live_server.base_url, method, f"{parts.path}?{parts.query}", raw=body or None,
                     headers=headers)
        seen.append(reply)
        return reply.status, reply.body

    admin.session.transport = recording
    assert len(list(roster.pledges(admin.session, campaign_id, roster.Tally()))) == PLEDGES
    [page] = [r for r in seen if r.body.startswith(MAGIC)]
    assert page.headers["content-type"] == MEDIA_TYPE
    assert_hardened(page, "binary pledge page")
