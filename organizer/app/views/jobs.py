"""A long job's progress: a page (that reloads itself without JavaScript) and its JSON for app.js."""

from flask import Blueprint, Response, abort, current_app, jsonify, render_template

from organizer.app.jobs import Job, Jobs

bp = Blueprint("jobs", __name__)


def _job(job_id: str) -> Job:
    jobs: Jobs = current_app.extensions["pledgebox_jobs"]
    job = jobs.get(job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/jobs/<job_id>")
def show(job_id: str) -> str:
    return render_template("job.html", job=_job(job_id), job_id=job_id)


@bp.get("/jobs/<job_id>.json")
def progress(job_id: str) -> Response:
    return jsonify(_job(job_id).as_json())
