"""A campaign's pledges: counts as bars, pledges per day, the "I want to help" list, a searchable
paged table, exports streamed as downloads, and publishing the counts (admins).

The counts are computed on a background thread while the pledges stream in (organizer/
live_roster.py); the page shows them as they grow and app.js refreshes them while it is open.
"""

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.wrappers import Response as WResponse

from organizer import campaigns, days, live_roster, report, roster, roster_counts, roster_formats, tally
from organizer.app.autopublish import Keeping
from organizer.app.helpers import current_session
from organizer.app.rosters import rosters, stream
from organizer.app.views.campaign_bp import bp

EXPORTS = {"csv": "text/csv", "jsonl": "application/x-ndjson", "html": "text/html"}


def _runs(campaign_id: str) -> tuple[dict[str, Any], live_roster.RosterRun, live_roster.RosterRun | None]:
    session = current_session()
    item = campaigns.find(session, campaign_id)
    fields = item["descriptor"]["fields"]

    def pledge_count() -> int:
        return int(campaigns.find(session, campaign_id)["pledge_count"])

    shown, running = rosters().view(session, campaign_id, fields, pledge_count)
    return item, shown, running


def _page() -> int:
    page = request.args.get("page", "1")
    return max(1, int(page)) if page.isdigit() else 1


@bp.get("/<campaign_id>/roster", endpoint="roster")
def roster_page(campaign_id: str) -> str:
    item, shown, running = _runs(campaign_id)
    session = current_session()
    return render_template(
        "roster/show.html", item=item, d=item["descriptor"], campaign_id=campaign_id,
        **_page_context(item, shown, running),
        admin=session.signing_key() is not None, threshold=item["descriptor"].get("threshold"),
        auto=_kept_fresh(campaign_id), can_publish="campaigns.publish_counts" in current_app.view_functions)


def _page_context(item: dict[str, Any], shown: live_roster.RosterRun,
                  running: live_roster.RosterRun | None) -> dict[str, Any]:
    """The counts and the table from one snapshot of the shown pass (issue 18, item 10)."""
    query, page = g.browser.searches.get(item["campaign_id"], ""), _page()
    snap, rows, matching = shown.view(query, page)
    day_span = days.stored_day_span(item["descriptor"].get("time_zone"))
    return {"live": _live_context(item, snap, shown, running, page, day_span), "rows": rows,
            "matching": matching, "query": query, "page": page,
            "pages": max(1, -(-matching // live_roster.PER_PAGE)),
            "conflicting": shown.conflicting(), "day_span": day_span}


@bp.post("/<campaign_id>/roster/search", endpoint="roster_search")
def roster_search(campaign_id: str) -> WResponse:
    """Remember the search for this browser (POST: typed names stay out of the browser's history)."""
    query = request.form.get("q", "").strip()[:200]
    if query:
        g.browser.searches[campaign_id] = query
    else:
        g.browser.searches.pop(campaign_id, None)
    return redirect(url_for("campaigns.roster", campaign_id=campaign_id, _anchor="table-heading"),
                    code=303)


def _kept_fresh(campaign_id: str) -> Keeping | None:
    """How this app republishes the campaign's counts, if it does (after a first publish)."""
    keeper = current_app.extensions.get("pledgebox_autopublish")
    return keeper.keeping(campaign_id) if keeper else None


def _live_context(item: dict[str, Any], snap: live_roster.Snapshot, shown: live_roster.RosterRun,
                  running: live_roster.RosterRun | None, page: int,
                  day_span: days.DaySpan | None) -> dict[str, Any]:
    progress = snap if running is None or running is shown else running.snapshot()
    busy = not progress.finished
    most = max([n for _, counts in snap.counts for _, n in counts] or [1])
    days_most = max([n for _, n in snap.per_day] or [1])
    return {"snap": snap, "progress": progress, "busy": busy,
            "updating": running is not None and running is not shown, "most": most,
            "days_most": days_most, "helpers": shown.helper_rows(), "fields": item["descriptor"]["fields"],
            "campaign_id": item["campaign_id"], "refresh": 2 if busy else 15,
            "school": roster_counts.is_school, "page": page, "day_span": day_span}


@bp.get("/<campaign_id>/roster/live")
def roster_live(campaign_id: str) -> str:
    """The parts of the page app.js swaps in while the page is open: the counts, days, helpers
    and the table, all from one snapshot."""
    item, shown, running = _runs(campaign_id)
    context = {"d": item["descriptor"], "campaign_id": campaign_id,
               **_page_context(item, shown, running)}
    return render_template("roster/_live.html", **context) + render_template(
        "roster/_table.html", **context)


def _export_writer(campaign_id: str, kind: str) -> Any:
    session = current_session()
    item = campaigns.find(session, campaign_id)
    d = item["descriptor"]

    def write(out: Any) -> None:
        counted = roster.Tally()
        rows = roster.pledges(session, campaign_id, counted, item["pledge_count"], d["fields"])
        if kind == "csv":
            out.write("\ufeff")  # spreadsheets then read accents (é, ñ) as UTF-8
            roster_formats.write_csv(rows, out, d["fields"])
        elif kind == "jsonl":
            roster_formats.write_jsonl(rows, out)
        else:
            report.write_html(rows, out, title=d["title"], campaign_id=campaign_id,
                              fields=d["fields"], tally=counted, today=tally.zone_today(d))
    return write


@bp.get("/<campaign_id>/roster/export.<kind>")
def export(campaign_id: str, kind: str) -> Response:
    """Streamed straight to the browser's download: no copy is written anywhere on the way."""
    if kind not in EXPORTS:
        abort(404)
    body = stream_with_context(stream(_export_writer(campaign_id, kind)))
    reply = Response(body, mimetype=EXPORTS[kind])
    reply.headers["Content-Disposition"] = f'attachment; filename="pledges-{campaign_id[:8]}.{kind}"'
    return reply
