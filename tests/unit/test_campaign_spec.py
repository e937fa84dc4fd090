"""organizer.campaigns.build_descriptor: a CampaignSpec becomes protocol 1.1 descriptor bytes.

The checks here are the organizer's plain-words refusals (BadInput) before anything is signed;
the server checks the same things again (tests/integration/test_protocol_v11.py).
"""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from organizer import campaigns
from organizer.errors import BadInput
from organizer.session import Session

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High",
          "grade:choice:Grade|Grado:9th,10th", "message:text:Message|Mensaje"]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("PLEDGEBOX_INSECURE_TEST_KDF", "1")
    s = Session.create(tmp_path / "k.json", "a long passphrase for tests")
    s.data["server"] = "http://127.0.0.1:9"
    s.data["coalition"] = {"coalition_id": "c0ali7ion0000000000000", "name": "Covina Students United",
                           "signing_key": "x", "organizer_id": "o", "role": "admin"}
    return s


def spec(**changes: Any) -> campaigns.CampaignSpec:
    base: dict[str, Any] = {
        "title": "Walkout", "description": "Walk out.", "action_date": date(2027, 2, 27),
        "closes": date(2027, 2, 26), "delete_after": date(2027, 3, 13),
        "fields": [campaigns.parse_field(f) for f in FIELDS], "time_zone": "America/Los_Angeles"}
    return campaigns.CampaignSpec(**{**base, **changes})


def build(session: Session, **changes: Any) -> dict[str, Any]:
    raw = campaigns.build_descriptor(session, spec(**changes))
    assert raw == json.dumps(json.loads(raw), ensure_ascii=False, sort_keys=True,
                             separators=(",", ":")).encode()
    result: dict[str, Any] = json.loads(raw)
    return result


def test_always_protocol_1_1_with_the_signed_coalition_name_and_the_zone(session: Session) -> None:
    d = build(session)
    assert d["protocol"] == "1.1"
    assert d["coalition_name"] == "Covina Students United"
    assert d["coalition_id"] == "c0ali7ion0000000000000"
    assert d["time_zone"] == "America/Los_Angeles"
    assert d["i18n"] == {}
    assert "threshold" not in d
    assert (d["action_date"], d["closes_at"], d["delete_after"]) == ("2027-02-27", "2027-02-26",
                                                                     "2027-03-13")


def test_spanish_title_and_description_go_under_i18n(session: Session) -> None:
    d = build(session, title_es="Salida", description_es="Salimos juntos.",
              fields=[campaigns.parse_field("school!:choice:School:A,B")])
    assert d["i18n"] == {"es": {"title": "Salida", "description": "Salimos juntos."}}
    assert d["languages"] == ["en", "es"]  # the page offers Spanish once there is Spanish text


def test_no_zone_means_this_laptops_zone(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert build(session, time_zone=None)["time_zone"] == "America/New_York"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "pacific", "../etc/passwd", ""])
def test_unknown_zone_is_refused_in_plain_words(session: Session, zone: str) -> None:
    assert build(session, time_zone=" Europe/Madrid ")["time_zone"] == "Europe/Madrid"
    with pytest.raises(BadInput, match="time zone"):
        build(session, time_zone=zone)


def test_threshold_on_school_with_per_option_numbers(session: Session) -> None:
    d = build(session, threshold=100, per_option={"northview-high": 40})
    assert d["threshold"] == {"field": "school", "count": 100, "per_option": {"northview-high": 40}}
    assert build(session, threshold=5, threshold_field="school")["threshold"] == {
        "field": "school", "count": 5}


@pytest.mark.parametrize(("changes", "words"), [
    ({"threshold": 10, "threshold_field": "grade"}, "required choice field"),  # not required
    ({"threshold": 10, "threshold_field": "message"}, "required choice field"),  # not a choice
    ({"threshold": 10, "threshold_field": "nope"}, "required choice field"),
    ({"threshold": 0}, "from 5 to 100000"),
    ({"threshold": 100_001}, "from 5 to 100000"),
    ({"threshold": 10, "per_option": {"south-hills": 3}}, "no option 'south-hills'"),
    ({"threshold": 10, "per_option": {"covina-high": 0}}, "from 5 to 100000"),
    ({"per_option": {"covina-high": 3}}, "threshold number too"),
    ({"closes": date(2027, 3, 14)}, "close on or before"),
    ({"title": " "}, "title"),
    ({"title_es": "x" * 201}, "Spanish title"),
])
def test_bad_specs_are_refused_before_signing(session: Session, changes: dict[str, Any],
                                              words: str) -> None:
    with pytest.raises(BadInput, match=words):
        build(session, **changes)
