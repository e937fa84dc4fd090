"""What a teenager types into the app's forms survives every mistake and reads as meant (issue 18,
items 5, 6, 7 and 16): multi-line texts publish, dates are checked in the form's own words before
anything is signed, a wrong setup code keeps every field, a bare server name is taken as https, and
the time zone list starts with the zones people use, in words."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from organizer import announce, campaigns, server_address
from organizer.campaign_form import DateProblem, check_dates, place_zones
from organizer.campaigns import CampaignSpec, local_zone
from tests.support.factories import make_campaign
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, start_app

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


WIZARD = {"title": "Walkout  for safe schools", "title_es": "Salida", "time_zone": "UTC",
          "description": "We walk out at 10.\r\n\r\nBring water.\r\nStay together.",
          "description_es": "Salimos a las 10.\r\n\r\nTrae agua.",
          "action_date": day(14), "closes": day(13), "delete_after": day(20),
          "ask_help": "1", "schools": "Covina High\r\nNorthview High", "action": "check"}


def test_a_description_typed_in_paragraphs_is_published_with_its_paragraphs(browser: Browser, org) -> None:
    checked = browser.post("/campaigns/new", WIZARD)  # the browser sends CRLF line ends
    assert checked.status == 303, checked.text
    published = browser.post(f"{checked.location}/publish")
    assert published.status == 303
    d = campaigns.find(org.session, published.location.split("/")[-2])["descriptor"]
    assert d["description"] == "We walk out at 10.\n\nBring water.\nStay together."
    assert d["i18n"]["es"]["description"] == "Salimos a las 10.\n\nTrae agua."
    assert d["title"] == "Walkout for safe schools"
    assert [o["label"]["en"] for o in d["fields"][0]["options"]] == ["Covina High", "Northview High"]


def test_an_announcement_in_paragraphs_posts_and_a_refused_one_keeps_what_was_typed(browser: Browser,
                                                                                     org) -> None:
    campaign_id = make_campaign(org)
    page = f"/campaigns/{campaign_id}/announcements"
    posted = browser.post(page, {"message_en": "Meet at the gate.\r\nBring a sign.",
                                 "message_es": "Nos vemos en la puerta.\r\nTrae un cartel."})
    assert posted.status == 303, posted.text
    shown, _ = announce.list_posted(org.session, campaign_id)
    assert shown[0].message == {"en": "Meet at the gate.\nBring a sign.",
                                "es": "Nos vemos en la puerta.\nTrae un cartel."}
    long_spanish = "Mensaje largo que no cabe. " * 60  # over the limit: refused by the tool
    refused = browser.post(page, {"message_en": "Typed with care\r\nsecond line", "message_es": long_spanish})
    assert refused.status == 400
    assert "keep it under" in refused.text
    assert ">Typed with care\r\nsecond line</textarea>" in refused.text  # nothing typed is lost
    assert "Mensaje largo que no cabe." in refused.text


@pytest.mark.parametrize(("changed", "field", "words"), [
    ({"action_date": day(-30), "closes": day(-31)}, "action_date", "The action day, {}, has already passed."),
    ({"closes": day(15)}, "closes", "The last day to pledge, {}, is after the action day"),
    ({"delete_after": day(10), "closes": day(9)}, "delete_after", "Everything would be deleted on {}"),
])
def test_a_date_that_cannot_be_meant_is_named_in_the_forms_words(browser: Browser, changed, field,
                                                                  words) -> None:
    answer = browser.post("/campaigns/new", {**WIZARD, **changed})
    assert answer.status == 400
    shown = date.fromisoformat(changed[field])
    assert words.format(f"{shown:%B} {shown.day}, {shown.year}") in answer.text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"[^>]*autofocus', answer.text)
    assert 'value="Walkout  for safe schools"' in answer.text  # the form as typed


def test_a_past_action_day_suggests_next_year_in_spanish_too(browser: Browser) -> None:
    last_year = TODAY.replace(year=TODAY.year - 1) + timedelta(days=20)
    form = {**WIZARD, "action_date": last_year.isoformat(),
            "closes": (last_year - timedelta(days=1)).isoformat()}
    english = browser.post("/campaigns/new", form)
    later = last_year.replace(year=last_year.year + 1)
    assert f"Did you mean {later:%B} {later.day}, {later.year}?" in english.text
    spanish = browser.post("/campaigns/new", form, headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert "ya pasó" in spanish.text
    assert "¿Quisiste decir" in spanish.text


def test_the_date_rules_live_in_the_core_for_every_face() -> None:
    spec = CampaignSpec(title="t", description="", action_date=TODAY, closes=TODAY + timedelta(days=1),
                        delete_after=TODAY + timedelta(days=5), fields=[])
    with pytest.raises(DateProblem) as caught:
        check_dates(spec, TODAY)
    assert caught.value.kind == "closes_after_action"
    assert str(caught.value).startswith("The last day to pledge")
    check_dates(CampaignSpec(title="t", description="", action_date=TODAY, closes=TODAY,
                             delete_after=TODAY, fields=[]), TODAY)  # all on one day is fine


def test_a_wrong_setup_code_keeps_every_field(tmp_path: Path, live_server: LiveServer) -> None:
    from organizer.session import Session
    from tests.support.factories import PASSPHRASE

    keystore = tmp_path / "k.json"
    session = Session.create(keystore, PASSPHRASE)
    app = start_app(keystore)
    try:
        app.state.unlock(session)
        b = Browser(app)
        b.sign_in()
        answer = b.post("/coalition/new", {"name": "Covina Students United", "server": live_server.base_url,
                                           "setup_code": "wrong-code-1234"})
        assert answer.status == 400
        assert 'value="Covina Students United"' in answer.text
        assert f'value="{live_server.base_url}"' in answer.text
        assert 'value="wrong-code-1234"' in answer.text
        assert 'class="notice error"' in answer.text
    finally:
        app.stop()


def test_a_server_name_typed_without_https_is_taken_as_https() -> None:
    assert server_address.check("pledges.example.org") == "https://pledges.example.org"
    assert server_address.check(" pledges.example.org/ ") == "https://pledges.example.org"
    assert server_address.check("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    with pytest.raises(server_address.InsecureServerAddress):
        server_address.check("http://pledges.example.org")


def test_the_zone_list_starts_with_the_zones_people_use_in_words(browser: Browser) -> None:
    page = browser.get("/campaigns/new").text
    select = page[page.index('<select id="time_zone"'):page.index("</select>")]
    assert "Pacific time (Los Angeles" in select
    assert select.index("Eastern time") < select.index("Every place, A to Z")
    assert "Etc/GMT" not in select
    assert "Factory" not in select
    assert "US/Pacific" not in select
    assert re.search(rf'<option value="{local_zone()}" selected>', select)  # this laptop's, chosen
    assert select.count(" selected>") == 1
    assert "America/Argentina/Buenos Aires" in select  # every place is still there, in words
    spanish = browser.get("/campaigns/new", headers={"Accept-Language": "es"}).text
    assert "Hora del Pacífico (Los Ángeles" in spanish


def test_place_zones_keep_places_only() -> None:
    zones = place_zones(campaigns.known_zones())
    assert "America/Los_Angeles" in zones
    assert "Europe/Madrid" in zones
    assert not [z for z in zones if z.startswith(("Etc/", "US/", "posix/")) or z == "Factory"]


def test_a_published_campaign_is_changed_from_its_page_and_a_refusal_keeps_what_was_typed(
        browser: Browser, org) -> None:
    campaign_id = make_campaign(org, title="Walkuot",
                                fields=["school!:choice:Your school|Tu escuela:Covina High,Northview High"])
    shown = browser.get(f"/campaigns/{campaign_id}")
    assert f'href="/campaigns/{campaign_id}/edit"' in shown.text
    page = browser.get(f"/campaigns/{campaign_id}/edit")
    assert page.status == 200
    assert 'value="Walkuot"' in page.text
    assert "Covina High, Northview High" in page.text  # the choices now, kept as they are
    form = {k: v for k, v in re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page.text)}
    refused = browser.post(f"/campaigns/{campaign_id}/edit", {**form, "title": "Walkout",
                                                              "add-school": "Covina High"})
    assert refused.status == 400
    assert "already a choice" in refused.text
    assert 'value="Walkout"' in refused.text  # as typed
    saved = browser.post(f"/campaigns/{campaign_id}/edit", {**form, "title": "Walkout",
                                                            "add-school": "Baldwin Park High\r\n"})
    assert saved.status == 303
    d = campaigns.find(org.session, campaign_id)["descriptor"]
    assert d["title"] == "Walkout"
    assert d["revision"] == 2
    assert d["fields"][0]["options"][-1]["label"]["en"] == "Baldwin Park High"
    assert "Students see the new version now" in browser.get(saved.location).text


def test_a_removed_organizer_is_told_plainly_and_can_start_again(org, tmp_path: Path) -> None:
    from organizer import members
    from tests.support.factories import fp, joined

    member = joined(tmp_path, org, "member", "rudy")
    members.remove(org.session, fp(member))
    app = start_app(member.keystore)
    try:
        app.state.unlock(member.session)
        b = Browser(app)
        b.sign_in()
        page = b.get("/")
        assert page.status == 403
        assert "You were removed from this coalition" in page.text
        assert "Ask an admin for a new invite" in page.text
        assert "Keep a backup" not in page.text
        assert "Keep a new backup" not in page.text
        spanish = b.get("/", headers={"Accept-Language": "es"})
        assert "Te quitaron de esta coalición" in spanish.text
        started = b.post("/lock", {"then": "start-over"})
        assert started.status == 303
        assert started.location.endswith("/start-over")
        assert app.state.session is None  # the keys left the app's memory first
        assert b.get(started.location).status == 200
    finally:
        app.stop()
