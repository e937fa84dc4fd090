"""The campaign wizard: write (one form), check (the student page at phone width, both languages),
then sign and publish. Buttons that add or remove questions post the form and get it back, so
the wizard works without JavaScript; the form's texts become a CampaignSpec in the organizer
core (organizer/campaign_form.py), never here.
"""

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from werkzeug.wrappers import Response as WResponse

from organizer import campaign_form, campaigns, coalition
from organizer.app import preview
from organizer.app.drafts import Draft, drafts
from organizer.app.helpers import current_session, notify
from organizer.app.i18n import SUPPORTED, user_message
from organizer.app.views.campaigns import bp
from organizer.campaign_form import QUESTION_KINDS, CampaignForm, Question
from organizer.errors import NeedsAdmin, UserError


def _render(form: CampaignForm, error: str | None = None, focus: str | None = None) -> tuple[str, int]:
    session = current_session()
    return render_template(
        "campaigns/new.html", form=form, error=error, focus=focus, kinds=QUESTION_KINDS,
        zones=sorted(campaigns.known_zones()), coalition_name=session.coalition_name,
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
        descriptor = campaigns.build_descriptor(session, campaign_form.to_spec(form))
    except UserError as exc:
        return _render(form, error=user_message(exc))
    draft_id = drafts().put(Draft(form, descriptor))
    return redirect(url_for("campaigns.check", draft_id=draft_id), code=303)


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

