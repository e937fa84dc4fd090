"""Pledge ids carry a keyed tag of their campaign: found cheaply by the server, opaque to others."""

import secrets

from crypto.ids import is_id
from crypto.pledge_ids import campaigns_to_read, new_pledge_id, tag_matches

KEY = bytes(range(32))
CAMPAIGNS = [f"campaign{i:04d}" for i in range(1000)]


def test_an_id_has_the_usual_shape_and_carries_its_campaigns_tag() -> None:
    for _ in range(200):
        pledge_id = new_pledge_id(KEY, "walkout")
        assert is_id(pledge_id)
        assert len(pledge_id) == 24
        assert not pledge_id.startswith("-")
        assert tag_matches(KEY, pledge_id, "walkout")
    # under another key, or for another campaign, the tag matches only by chance (1 in 65,536)
    ids = [new_pledge_id(KEY, "walkout") for _ in range(2000)]
    assert sum(tag_matches(KEY, i, "sit-in") for i in ids) < 5
    assert sum(tag_matches(bytes(32), i, "walkout") for i in ids) < 5


def test_ids_of_one_campaign_share_nothing_visible() -> None:
    """Without the key, two receipts of a campaign look like two random ids: no common bytes."""
    ids = [new_pledge_id(KEY, "walkout") for _ in range(400)]
    assert len(set(ids)) == len(ids)
    for position in range(24):
        assert len({i[position] for i in ids}) > 40, f"character {position} hardly varies"


def test_a_withdrawal_reads_its_campaign_and_as_many_campaigns_for_an_id_that_does_not_exist() -> None:
    home = CAMPAIGNS[417]
    pledge_id = new_pledge_id(KEY, home)
    found = campaigns_to_read(KEY, pledge_id, CAMPAIGNS)
    assert home in found
    assert len(found) <= 2
    strangers = [new_pledge_id(KEY, "a campaign gone long ago") for _ in range(300)]
    strangers += ["x", "-" * 24, secrets.token_urlsafe(18), "A" * 64, "é" * 24]
    for stranger in strangers:
        decoy = campaigns_to_read(KEY, stranger, CAMPAIGNS)
        assert 1 <= len(decoy) <= 2
        assert set(decoy) <= set(CAMPAIGNS)
        assert campaigns_to_read(KEY, stranger, CAMPAIGNS) == decoy  # fixed by the id
    assert campaigns_to_read(KEY, pledge_id, []) == []
