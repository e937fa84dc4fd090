"""Server-rendered pages: the pledge page, the withdraw page and a short index, in two languages."""

import base64
import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, render_template

from server import i18n
from server.limits import limiter, pledge_limits
from server.runtime import instant
from server.store.campaigns import live_campaign, public_view

bp = Blueprint("pages", __name__)

STATIC = Path(__file__).parent / "static"


@cache
def sri(filename: str) -> str:
    """Subresource Integrity of a static file as served (computed from its bytes at first use)."""
    data = (STATIC / filename).read_bytes()
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def _descriptor_languages(descriptor: bytes) -> list[object]:
    """Only to choose the page's language: the browser checks the signed descriptor itself."""
    try:
        languages = json.loads(descriptor).get("languages")
    except (ValueError, AttributeError):
        return []
    return languages if isinstance(languages, list) else []


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/p/<campaign_id>")
@limiter.limit(pledge_limits.reads)
def pledge_page(campaign_id: str) -> str:
    campaign = live_campaign(campaign_id, instant())
    i18n.offer_languages(_descriptor_languages(bytes(campaign.descriptor)))
    # The campaign answer rides along in the page: one round trip fewer on a slow phone. The
    # page verifies it exactly as it would verify GET /api/v1/campaigns/{id}.
    return render_template("pledge.html", campaign_id=campaign_id, campaign=public_view(campaign),
                           js_messages=i18n.js_messages())


@bp.get("/withdraw")
def withdraw_page() -> str:
    return render_template("withdraw.html", js_messages=i18n.js_messages())


def init_app(app: Flask) -> None:
    app.jinja_env.globals["sri"] = sri
    i18n.init_app(app)
