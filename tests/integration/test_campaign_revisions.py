"""A published campaign changes without a new link (issue 18, item 17): text, dates and new choices,
signed as the next revision of the same campaign; never what a question or an existing choice means,
on the organizer's tool and on the server alike (an admin's tool that skips the rule, or a replayed
old version, is refused)."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from crypto.encoding import b64u_decode, b64u_encode
from crypto.revisions import revision_problem
from crypto.statements import campaign_message
from organizer import campaigns, revisions, roster
from organizer.errors import BadInput, ServerRefused
from tests.support.factories import PASSPHRASE, make_campaign, make_coalition, pledge
from tests.support.http import call

TODAY = datetime.now(UTC).date()
SCHOOLS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High"]


@pytest.fixture
def org(live_server, tmp_path):  # type: ignore[no-untyped-def]
    return make_coalition(tmp_path, live_server.base_url)


def public(base_url: str, campaign_id: str) -> dict:
    info = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()
    return json.loads(b64u_decode(info["descriptor"]))


def change_of(org, campaign_id: str, **changes) -> revisions.Revision:  # type: ignore[no-untyped-def]
    now = revisions.Revision.of(campaigns.find(org.session, campaign_id)["descriptor"])
    return revisions.Revision(**{**now.__dict__, **changes})


def test_a_typo_a_date_and_a_new_school_change_and_old_pledges_keep_their_meaning(org, live_server):
    campaign_id = make_campaign(org, fields=SCHOOLS, title="Walkuot")
    link = campaigns.share_link(org.session, campaign_id)
    before = pledge(live_server.base_url, campaign_id, {"school": "northview-high"})
    new = revisions.publish_revision(org.session, campaign_id, change_of(
        org, campaign_id, title="Walkout", description="We walk out at 10.\r\nBring water.",
        action_date=TODAY + timedelta(days=15), closes=TODAY + timedelta(days=15),
        new_options={"school": "Baldwin Park High | Preparatoria Baldwin Park"}))
    assert new["revision"] == 2
    served = public(live_server.base_url, campaign_id)
    assert served == new  # what students get now
    assert served["title"] == "Walkout"
    assert served["description"] == "We walk out at 10.\nBring water."
    assert served["closes_at"] == (TODAY + timedelta(days=15)).isoformat()
    options = served["fields"][0]["options"]
    assert [o["id"] for o in options] == ["covina-high", "northview-high", "baldwin-park-high"]
    assert options[2]["label"] == {"en": "Baldwin Park High", "es": "Preparatoria Baldwin Park"}
    assert campaigns.share_link(org.session, campaign_id) == link  # the same link
    after = pledge(live_server.base_url, campaign_id, {"school": "baldwin-park-high"})
    opened = {r["pledge_id"]: r["answers"]["school"] for r in
              roster.pledges(org.session, campaign_id, roster.Tally())}
    assert opened == {before.pledge_id: "northview-high", after.pledge_id: "baldwin-park-high"}


@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d["fields"][0]["options"][0]["label"].update(en="Northview High"), "keeps every option"),
    (lambda d: d["fields"][0]["options"].pop(), "keeps every option"),
    (lambda d: d["fields"][0]["label"].update(en="Your grade"), "cannot change the question"),
    (lambda d: d.update(time_zone="America/New_York"), "cannot change the campaign's time zone"),
    (lambda d: d["fields"].append({"id": "name", "type": "text", "label": {"en": "Name"},
                                   "required": False, "max_length": 50}), "adds none"),
    (lambda d: d.update(threshold={"field": "school", "count": 50}), "how many pledges"),
])
def test_the_server_refuses_a_version_that_changes_a_meaning_even_signed_by_an_admin(org, edit, words):
    campaign_id = make_campaign(org, fields=SCHOOLS, threshold=10)
    current = campaigns.find(org.session, campaign_id)["descriptor"]
    tampered = json.loads(json.dumps(current))
    edit(tampered)
    tampered["revision"] = 2
    assert words in (revision_problem(current, tampered) or "")  # the tool's own check says so too
    raw = json.dumps(tampered, sort_keys=True).encode()
    signature = org.session.signing_key().sign(campaign_message(raw))
    with pytest.raises(ServerRefused, match=words.split()[0]):  # an admin's tool without the rule
        org.session.client().request("PUT", f"/api/v1/org/campaigns/{campaign_id}", {
            "descriptor": b64u_encode(raw), "signature": b64u_encode(signature)})
    assert campaigns.find(org.session, campaign_id)["descriptor"] == current  # nothing changed


def test_an_old_version_replayed_or_a_forged_one_is_refused(org, live_server):
    campaign_id = make_campaign(org, fields=SCHOOLS)
    item = campaigns.find(org.session, campaign_id)
    first = {"descriptor": item["descriptor_signature"] and b64u_encode(
        json.dumps(item["descriptor"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()),
        "signature": item["descriptor_signature"]}
    revisions.publish_revision(org.session, campaign_id, change_of(org, campaign_id, title="Second"))
    with pytest.raises(ServerRefused, match="revision 3"):  # revision 1 again, validly signed
        org.session.client().request("PUT", f"/api/v1/org/campaigns/{campaign_id}", first)
    forged = dict(campaigns.find(org.session, campaign_id)["descriptor"], title="Forged", revision=3)
    raw = json.dumps(forged).encode()
    with pytest.raises(ServerRefused, match="not signed"):
        org.session.client().request("PUT", f"/api/v1/org/campaigns/{campaign_id}", {
            "descriptor": b64u_encode(raw), "signature": b64u_encode(b"\0" * 64)})
    assert public(live_server.base_url, campaign_id)["title"] == "Second"


def test_the_tool_refuses_a_choice_that_is_already_there_and_dates_out_of_order(org):
    campaign_id = make_campaign(org, fields=SCHOOLS)
    with pytest.raises(BadInput, match="already a choice"):
        revisions.publish_revision(org.session, campaign_id, change_of(
            org, campaign_id, new_options={"school": "covina high"}))
    with pytest.raises(BadInput, match="close on or before"):
        revisions.publish_revision(org.session, campaign_id, change_of(
            org, campaign_id, closes=TODAY + timedelta(days=40)))


def test_the_command_line_edits_a_campaign(org, live_server, tmp_path):
    campaign_id = make_campaign(org, fields=SCHOOLS)
    env = {"PATH": "/usr/bin:/bin", "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "HOME": str(tmp_path),
           "PLEDGEBOX_INSECURE_TEST_KDF": "1", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore", str(org.keystore), "campaign",
                           "edit", campaign_id, "--title", "Walkout Feb 27",
                           "--add-option", "school=Baldwin Park High"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "version 2" in done.stderr
    served = public(live_server.base_url, campaign_id)
    assert served["title"] == "Walkout Feb 27"
    assert served["fields"][0]["options"][-1]["id"] == "baldwin-park-high"
    bad = subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore", str(org.keystore), "campaign",
                          "edit", campaign_id, "--add-option", "school"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert bad.returncode != 0
    assert "QUESTION=LABEL" in bad.stderr
