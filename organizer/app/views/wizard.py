"""The campaign wizard: write (one form), check (the student page at phone width, both languages),
then sign and publish. Buttons that add or remove questions post the form and get it back, so
the wizard works without JavaScript; the form's texts become a CampaignSpec in the organizer
core (organizer/campaign_form.py), never here.
"""

from datetime import UTC, date, datetime

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date, gettext, lazy_gettext
from werkzeug.wrappers import Response as WResponse

from organizer import campaign_form, campaigns, clock, coalition, tally
from organizer.app import preview
from organizer.app.drafts import Draft, drafts
from organizer.app.helpers import current_session, notify
from organizer.app.i18n import SUPPORTED, user_message
from organizer.app.views.campaign_bp import bp
from organizer.campaign_form import QUESTION_KINDS, CampaignForm, DateProblem, Question
from organizer.errors import NeedsAdmin, UserError


def _render(form: CampaignForm, error: str | None = None, focus: str | None = None) -> tuple[str, int]:
    session = current_session()
    return render_template(
        "campaigns/new.html", form=form, error=error, focus=focus, kinds=QUESTION_KINDS,
        common_zones=[(z, ZONE_WORDS[z]) for z in campaign_form.COMMON_ZONES],
        zones=campaign_form.place_zones(campaigns.known_zones()), local_zone=campaigns.local_zone(),
        today=_zone_today(form.time_zone or None).isoformat(), coalition_name=session.coalition_name,
        admin=session.signing_key() is not None), 400 if error else 200


@bp.get("/new")
def new() -> tuple[str, int]:
    draft = drafts().get(request.args.get("draft", ""))
    if draft is not None:
        return _render(draft.form)
    return _render(campaign_form.default_form(coalition.utc_today(), campaigns.local_zone()))


@bp.post("/new")
def submit() -> tuple[str, int] | WResponse:
    form = CampaignForm.from_mapping(request.form)
    action = request.form.get("action", "check")
    if action.startswith("add-") and action[4:] in QUESTION_KINDS:
        if len(form.questions) < campaign_form.MAX_QUESTIONS:
            form.questions.append(Question(action[4:]))
        return _render(form, focus=f"q{len(form.questions) - 1}-en")
    if action.startswith("remove-") and action[7:].isdigit():
        index = int(action[7:])
        if index < len(form.questions):
            del form.questions[index]
        return _render(form, focus="questions")
    session = current_session()
    try:
        if session.signing_key() is None:
            raise NeedsAdmin("Only admins can create campaigns; ask one of your coalition's admins.")
        spec = campaign_form.to_spec(form)
        campaign_form.check_dates(spec, _zone_today(spec.time_zone))
        descriptor = campaigns.build_descriptor(session, spec)
    except DateProblem as problem:
        return _render(form, error=date_words(problem), focus=problem.field_name)
    except UserError as exc:
        return _render(form, error=user_message(exc))
    draft_id = drafts().put(Draft(form, descriptor))
    return redirect(url_for("campaigns.check", draft_id=draft_id), code=303)


ZONE_WORDS = {
    "America/New_York": lazy_gettext("Eastern time (New York, Miami, Atlanta)"),
    "America/Chicago": lazy_gettext("Central time (Chicago, Houston, Dallas)"),
    "America/Denver": lazy_gettext("Mountain time (Denver, Salt Lake City)"),
    "America/Phoenix": lazy_gettext("Arizona (Phoenix, no daylight saving)"),
    "America/Los_Angeles": lazy_gettext("Pacific time (Los Angeles, San Francisco, Seattle)"),
    "America/Anchorage": lazy_gettext("Alaska (Anchorage)"),
    "Pacific/Honolulu": lazy_gettext("Hawaii (Honolulu)"),
    "America/Puerto_Rico": lazy_gettext("Puerto Rico (San Juan)"),
    "America/Mexico_City": lazy_gettext("Mexico City"),
    "America/Tijuana": lazy_gettext("Tijuana and Baja California"),
}


def _zone_today(zone: str | None) -> date:
    now = datetime.fromtimestamp(clock.now(), tz=UTC)
    return tally.zone_today({"time_zone": zone or campaigns.local_zone()}, now)


def date_words(problem: DateProblem) -> str:
    """The core's date problem in the page's language, with the dates as the page shows them."""
    day = format_date(problem.day, "long")
    other = format_date(problem.other, "long") if problem.other else ""
    said = {
        "action_past": gettext("The action day, %(day)s, has already passed.", day=day),
        "closes_past": gettext("The last day to pledge, %(day)s, has already passed.", day=day),
        "closes_after_action": gettext(
            "The last day to pledge, %(day)s, is after the action day, %(other)s: pick the action "
            "day or a day before it.", day=day, other=other),
        "deleted_before_action": gettext(
            "Everything would be deleted on %(day)s, before the action day, %(other)s: pick a day "
            "after the action day.", day=day, other=other),
    }[problem.kind]
    if problem.suggestion:
        said += " " + gettext("Did you mean %(day)s?", day=format_date(problem.suggestion, "long"))
    return said


def _draft(draft_id: str) -> Draft:
    draft = drafts().get(draft_id)
    if draft is None:
        abort(404, "This draft is gone (the app was restarted or it was published). Start again.")
    return draft


@bp.get("/drafts/<draft_id>")
def check(draft_id: str) -> str:
    draft = _draft(draft_id)
    session = current_session()
    styled = preview.server_stylesheet(session.data["server"]) is not None
    return render_template("campaigns/check.html", draft_id=draft_id, d=draft.fields,
                           styled=styled, languages=SUPPORTED, long_date=preview.long_date)


@bp.get("/drafts/<draft_id>/phone")
def phone(draft_id: str) -> str:
    """The student page in one language, for the preview's phone-sized frame."""
    d = _draft(draft_id).fields
    lang = request.args.get("lang", "en")
    lang = lang if lang in SUPPORTED else "en"
    g.frame_self = True  # the one page this app lets itself frame (guard.secure_headers)
    with force_locale(lang):
        return render_template(
            "campaigns/phone.html", d=d, lang=lang, draft_id=draft_id,
            text=preview.in_language(d, lang), label=preview.label, long_date=preview.long_date,
            paragraphs=preview.paragraphs, with_coalition=preview.with_coalition,
            with_date=lambda sentence, iso, **kw: preview.with_date(sentence, iso, lang, **kw))


@bp.get("/pledge-page.css")
def pledge_stylesheet() -> Response:
    css = preview.server_stylesheet(current_session().data["server"])
    if css is None:
        abort(404)
    return Response(css, mimetype="text/css")


@bp.post("/drafts/<draft_id>/publish")
def publish(draft_id: str) -> WResponse:
    draft = _draft(draft_id)
    session = current_session()
    try:
        campaign_id = campaigns.create(session, draft.descriptor)
    except UserError as exc:
        notify(user_message(exc), "error")
        return redirect(url_for("campaigns.check", draft_id=draft_id), code=303)
    drafts().pop(draft_id)
    notify(gettext("Your campaign is live. Share its link with students."))
    return redirect(url_for("campaigns.share", campaign_id=campaign_id), code=303)

