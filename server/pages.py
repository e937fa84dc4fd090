"""Server-rendered pages: the pledge page, the withdraw page and a short index."""

import base64
import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, render_template

from server.limits import limiter, pledge_limits
from server.runtime import today
from server.store.campaigns import live_campaign

bp = Blueprint("pages", __name__)

STATIC = Path(__file__).parent / "static"


@cache
def sri(filename: str) -> str:
    """Subresource Integrity of a static file as served (computed from its bytes at first use)."""
    data = (STATIC / filename).read_bytes()
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/p/<campaign_id>")
@limiter.limit(pledge_limits.reads)
def pledge_page(campaign_id: str) -> str:
    live_campaign(campaign_id, today())
    return render_template("pledge.html", campaign_id=campaign_id)


@bp.get("/withdraw")
def withdraw_page() -> str:
    return render_template("withdraw.html")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["sri"] = sri
