"""A campaign as a person types it (the app's wizard, or plain texts from any face) into a CampaignSpec.

The wizard's form is all text: schools one per line ("Covina High | Preparatoria Covina"),
questions as label pairs, dates as YYYY-MM-DD, a threshold as digits. This module turns those
texts into protocol fields and a `campaigns.CampaignSpec`, and says plainly what is missing;
`campaigns.build_descriptor` then applies the protocol's own checks (dates, zone, threshold).
Names and contact details are never asked by default: a leaked list can hurt students.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from crypto.ids import is_id
from organizer.campaigns import DEFAULT_FIELDS, CampaignSpec, _label, _slug, parse_field
from organizer.errors import BadInput

QUESTION_KINDS = ("text", "choice", "checkbox", "contact")
SCHOOL_LABEL = "Your school|Tu escuela"
HELP_LABEL = "I want to help organize|Quiero ayudar a organizar"
MAX_QUESTIONS = 12
TEXT_LENGTH = 200
_QUESTION_KEY = re.compile(r"^q(\d{1,2})-(kind|en|es|options|required)$")


@dataclass
class Question:
    """One extra question as typed: its kind, its label in both languages, its options (choice)."""

    kind: str
    en: str = ""
    es: str = ""
    options: str = ""  # one per line, "English | Español"
    required: bool = False


@dataclass
class CampaignForm:
    """Every text of the wizard, kept as typed so a form with a mistake comes back as it was."""

    title: str = ""
    title_es: str = ""
    description: str = ""
    description_es: str = ""
    action_date: str = ""
    closes: str = ""
    delete_after: str = ""
    time_zone: str = ""
    schools: str = ""
    ask_help: bool = True
    threshold: str = ""
    questions: list[Question] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> "CampaignForm":
        """From a submitted form (checkboxes are present when ticked, absent otherwise)."""
        texts = {k: str(data.get(k, "")) for k in (
            "title", "title_es", "description", "description_es", "action_date", "closes",
            "delete_after", "time_zone", "schools", "threshold")}
        return cls(**texts, ask_help=bool(data.get("ask_help")), questions=_questions(data))


def _questions(data: Mapping[str, str]) -> list[Question]:
    found: dict[int, dict[str, str]] = {}
    for key in data:
        match = _QUESTION_KEY.match(key)
        if match:
            found.setdefault(int(match[1]), {})[match[2]] = str(data.get(key, ""))
    questions = []
    for _, parts in sorted(found.items()):
        kind = parts.get("kind", "")
        if kind in QUESTION_KINDS:
            questions.append(Question(kind, parts.get("en", ""), parts.get("es", ""),
                                      parts.get("options", ""), bool(parts.get("required"))))
    return questions[:MAX_QUESTIONS]


def default_form(today: date, time_zone: str) -> CampaignForm:
    """A new campaign's starting point: an action in two weeks, deleted a week after it."""
    action = today + timedelta(days=14)
    return CampaignForm(action_date=action.isoformat(),
                        closes=(action - timedelta(days=1)).isoformat(),
                        delete_after=(action + timedelta(days=7)).isoformat(), time_zone=time_zone)


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def options(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Choice options from "English | Español" lines (Spanish optional), with ids from the English."""
    taken: set[str] = set()
    result, seen = [], set()
    for line in lines:
        label = _label(line)
        if label["en"].casefold() in seen:
            raise BadInput(f"{label['en']!r} is listed twice; keep one line per choice.")
        seen.add(label["en"].casefold())
        result.append({"id": _slug(label["en"], taken), "label": label})
    return result


def school_field(text: str) -> dict[str, Any]:
    """The school question: a required choice of the typed schools, or free text when none."""
    names = _lines(text)
    if not names:
        return {"id": "school", "type": "text", "label": _label(SCHOOL_LABEL), "required": True,
                "max_length": TEXT_LENGTH}
    return {"id": "school", "type": "choice", "label": _label(SCHOOL_LABEL), "required": True,
            "options": options(names)}


def help_field() -> dict[str, Any]:
    return {"id": "help", "type": "checkbox", "label": _label(HELP_LABEL), "required": False}


def question_field(question: Question, taken: set[str]) -> dict[str, Any]:
    """A protocol field from one typed question; its id comes from the English label."""
    if question.kind not in QUESTION_KINDS:
        raise BadInput("A question is text, choice, checkbox or contact.")
    english = " ".join(question.en.split())
    if not english:
        raise BadInput("Every extra question needs its English wording (or remove the question).")
    spanish = " ".join(question.es.split())
    label = {"en": english, **({"es": spanish} if spanish else {})}
    fid = _slug(english, taken)[:64]
    if not is_id(fid):  # _slug keeps [a-z0-9-]; this guards the protocol's id shape anyway
        raise BadInput(f"The question {english!r} needs some letters or digits in English.")
    spec: dict[str, Any] = {"id": fid, "type": question.kind, "label": label,
                            "required": question.required}
    if question.kind == "choice":
        spec["options"] = options(_lines(question.options))
        if len(spec["options"]) < 2:
            raise BadInput(f"The question {english!r} needs at least two choices, one per line.")
    elif question.kind in ("text", "contact"):
        spec["max_length"] = TEXT_LENGTH
    return spec


def fields(form: CampaignForm) -> list[dict[str, Any]]:
    """The school first, then "I want to help" when asked, then the extra questions in order."""
    result = [school_field(form.schools)]
    if form.ask_help:
        result.append(help_field())
    taken = {f["id"] for f in result}
    result.extend(question_field(q, taken) for q in form.questions)
    return result


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"Pick {what} (a date like 2027-02-27).") from None


def _threshold(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise BadInput("The threshold is a whole number of pledges from 5, like 20, or empty "
                       "for none.")
    return int(text)


def to_spec(form: CampaignForm) -> CampaignSpec:
    """The CampaignSpec that campaigns.build_descriptor checks, signs into bytes and publishes."""
    if not form.title.strip():
        raise BadInput("Give the campaign a title: it is the first thing students read.")
    threshold = _threshold(form.threshold)
    if threshold is not None and not _lines(form.schools):
        raise BadInput("To go ahead school by school, list the schools (one per line).")
    return CampaignSpec(
        title=form.title.strip(), description=form.description.strip(),
        action_date=_date(form.action_date, "the action day"),
        closes=_date(form.closes, "the last day to pledge"),
        delete_after=_date(form.delete_after, "the day everything is deleted"),
        fields=fields(form), title_es=form.title_es.strip() or None,
        description_es=form.description_es.strip() or None,
        time_zone=form.time_zone.strip() or None, threshold=threshold, threshold_field="school")


class DateProblem(BadInput):
    """A date of the campaign that cannot be what the organizer meant."""

    def __init__(self, field_name: str, kind: str, day: date, other: date | None = None,
                 suggestion: date | None = None) -> None:
        self.field_name, self.kind, self.day, self.other, self.suggestion = (
            field_name, kind, day, other, suggestion)
        super().__init__(self.english())

    def english(self) -> str:
        """The sentence for the command line (the app words it from the same fields)."""
        said = {
            "action_past": f"The action day, {self.day}, has already passed.",
            "closes_past": f"The last day to pledge, {self.day}, has already passed.",
            "closes_after_action": (f"The last day to pledge, {self.day}, is after the action day, "
                                    f"{self.other}: pick the action day or a day before it."),
            "deleted_before_action": (f"Everything would be deleted on {self.day}, before the action "
                                      f"day, {self.other}: pick a day after the action day."),
        }[self.kind]
        return said + (f" Did you mean {self.suggestion}?" if self.suggestion else "")


def _next_year(day: date, today: date) -> date | None:
    """The same day a year on, when that is not past either: the usual slip in January."""
    try:
        later = day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return None
    return later if later >= today else None


def check_dates(spec: CampaignSpec, today: date) -> None:
    """The dates as a person means them, checked before anything is signed: `today` is the date in
    the campaign's zone. (The server checks its own rules, and its retention limit, when publishing.)"""
    if spec.action_date < today:
        raise DateProblem("action_date", "action_past", spec.action_date,
                          suggestion=_next_year(spec.action_date, today))
    if spec.closes < today:
        raise DateProblem("closes", "closes_past", spec.closes, suggestion=_next_year(spec.closes, today))
    if spec.closes > spec.action_date:
        raise DateProblem("closes", "closes_after_action", spec.closes, spec.action_date)
    if spec.delete_after < spec.action_date:
        raise DateProblem("delete_after", "deleted_before_action", spec.delete_after, spec.action_date)


# The zones a US coalition meets first, in the order of the map; the app names each in words.
COMMON_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
                "America/Mexico_City", "America/Tijuana")
_PLACE_ZONE = re.compile(r"^(Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/")


def place_zones(known: Iterable[str]) -> list[str]:
    """Every zone named after a place (America/Los_Angeles), sorted: no Etc/GMT+8, Factory, US/…
    aliases or posix/ copies, which only confuse a person choosing where their school is."""
    return sorted(z for z in known if _PLACE_ZONE.match(z) and not z.startswith(("posix/", "right/")))


def cli_fields(schools: list[str] | None, specs: list[str] | None) -> list[dict[str, Any]]:
    """The CLI's --school and --field options as fields: with schools, the wizard's own school
    question and "I want to help" box, then the --field questions; without, --field or the default."""
    if not schools:
        return [parse_field(spec) for spec in (specs or DEFAULT_FIELDS)]
    result = [school_field("\n".join(schools)), help_field()]
    taken = {f["id"] for f in result}
    for spec in specs or []:
        added = parse_field(spec)
        if added["id"] in taken:
            raise BadInput(f"--school already asks the question {added['id']!r}: give this --field "
                           "another id.")
        taken.add(added["id"])
        result.append(added)
    return result
