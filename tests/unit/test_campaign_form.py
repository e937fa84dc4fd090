"""organizer.campaign_form: the wizard's texts become a CampaignSpec, then protocol 1.1 bytes.

What a person types (schools one per line with optional Spanish, questions as label pairs, a
threshold in digits) must come out as the protocol's fields, and every mistake as one sentence.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from organizer import campaign_form, campaigns
from organizer.campaign_form import CampaignForm, Question
from organizer.errors import BadInput
from organizer.session import Session


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("PLEDGEBOX_INSECURE_TEST_KDF", "1")
    s = Session.create(tmp_path / "k.json", "a long passphrase for tests")
    s.data["server"] = "http://127.0.0.1:9"
    s.data["coalition"] = {"coalition_id": "c0ali7ion0000000000000", "name": "Covina Students United",
                           "signing_key": "x", "organizer_id": "o", "role": "admin"}
    return s


def filled(**changes: object) -> CampaignForm:
    form = campaign_form.default_form(date(2027, 2, 13), "America/Los_Angeles")
    form.title, form.title_es = "Walkout for safe schools", "Salida por escuelas seguras"
    form.description = "We walk out at 10.\n\nBring water."
    form.schools = "Covina High | Preparatoria Covina\n\n  Northview   High  \n"
    for key, value in changes.items():
        setattr(form, key, value)
    return form


def test_the_submitted_form_becomes_protocol_fields(session: Session) -> None:
    data = {"title": "Walkout", "description": "", "action_date": "2027-02-27",
            "closes": "2027-02-26", "delete_after": "2027-03-06", "time_zone": "America/Chicago",
            "schools": "Covina High | Preparatoria Covina\nNorthview High", "ask_help": "1",
            "threshold": "20", "q1-kind": "choice", "q1-en": "Grade", "q1-es": "Grado",
            "q1-options": "9th | 9.º\n10th", "q1-required": "1", "q0-kind": "contact",
            "q0-en": "Your Signal number", "q7-kind": "bogus", "q7-en": "ignored"}
    form = CampaignForm.from_mapping(data)
    assert [q.kind for q in form.questions] == ["contact", "choice"]  # by number, unknown kinds out
    d = json.loads(campaigns.build_descriptor(session, campaign_form.to_spec(form)))
    school, helper, contact, grade = d["fields"]
    assert school == {"id": "school", "type": "choice", "required": True,
                      "label": {"en": "Your school", "es": "Tu escuela"},
                      "options": [{"id": "covina-high", "label": {"en": "Covina High",
                                                                  "es": "Preparatoria Covina"}},
                                  {"id": "northview-high", "label": {"en": "Northview High"}}]}
    assert helper["type"] == "checkbox"
    assert helper["label"]["es"] == "Quiero ayudar a organizar"
    assert contact == {"id": "your-signal-number", "type": "contact", "required": False,
                       "label": {"en": "Your Signal number"}, "max_length": 200}
    assert grade["required"] is True
    assert [o["id"] for o in grade["options"]] == ["9th", "10th"]
    assert d["threshold"] == {"field": "school", "count": 20}
    assert d["time_zone"] == "America/Chicago"
    assert d["coalition_name"] == "Covina Students United"


def test_names_and_contacts_are_never_asked_by_default(session: Session) -> None:
    d = json.loads(campaigns.build_descriptor(session, campaign_form.to_spec(filled())))
    assert [(f["id"], f["type"]) for f in d["fields"]] == [("school", "choice"), ("help", "checkbox")]
    assert d["i18n"] == {"es": {"title": "Salida por escuelas seguras"}}
    assert d["languages"] == ["en", "es"]
    assert [o["label"]["en"] for o in d["fields"][0]["options"]] == ["Covina High", "Northview High"]


def test_no_schools_means_students_type_theirs_and_no_help_box_when_unticked() -> None:
    spec = campaign_form.to_spec(filled(schools="", ask_help=False))
    assert spec.fields == [{"id": "school", "type": "text", "required": True, "max_length": 200,
                            "label": {"en": "Your school", "es": "Tu escuela"}}]


def test_default_dates_are_in_order_and_in_the_laptops_zone() -> None:
    form = campaign_form.default_form(date(2027, 2, 13), "Europe/Madrid")
    spec = campaign_form.to_spec(filled(action_date=form.action_date, closes=form.closes,
                                        delete_after=form.delete_after))
    assert spec.closes < spec.action_date < spec.delete_after
    assert form.time_zone == "Europe/Madrid"


def test_question_ids_never_collide_with_the_school_or_each_other() -> None:
    questions = [Question("text", "School"), Question("text", "school"), Question("checkbox", "Help")]
    ids = [f["id"] for f in campaign_form.fields(filled(questions=questions))]
    assert ids == ["school", "help", "school-2", "school-3", "help-2"]


@pytest.mark.parametrize(("changes", "sentence"), [
    ({"title": "  "}, "Give the campaign a title"),
    ({"action_date": ""}, "Pick the action day"),
    ({"closes": "27/02/2027"}, "Pick the last day to pledge"),
    ({"threshold": "ten"}, "whole number"),
    ({"threshold": "10", "schools": ""}, "list the schools"),
    ({"schools": "Covina High\ncovina high"}, "listed twice"),
    ({"questions": [Question("text", "")]}, "needs its English wording"),
    ({"questions": [Question("choice", "Grade", options="9th")]}, "at least two choices"),
])
def test_mistakes_read_as_one_sentence(changes: dict[str, object], sentence: str) -> None:
    with pytest.raises(BadInput, match=sentence):
        campaign_form.to_spec(filled(**changes))


def test_the_protocol_checks_still_apply_after_the_form(session: Session) -> None:
    spec = campaign_form.to_spec(filled(delete_after="2027-02-01", closes="2027-02-26"))
    with pytest.raises(BadInput, match="close on or before"):
        campaigns.build_descriptor(session, spec)
    with pytest.raises(BadInput, match="time zone"):
        campaigns.build_descriptor(session, campaign_form.to_spec(filled(time_zone="Mars/Olympus")))


def test_the_cli_schools_give_the_wizards_school_question() -> None:
    fields = campaign_form.cli_fields(["Covina High | Preparatoria Covina", "Northview High"],
                                      ["grade:choice:Grade|Grado:9th,10th"])
    wizard = campaign_form.fields(filled(schools="Covina High | Preparatoria Covina\nNorthview High"))
    assert fields[:2] == wizard  # one definition of the school question for both faces
    assert fields[2]["id"] == "grade"
    assert campaign_form.cli_fields(None, None)[0]["type"] == "text"  # the CLI's default form
    with pytest.raises(BadInput, match="already asks"):
        campaign_form.cli_fields(["Covina High"], ["help:checkbox:Help"])
