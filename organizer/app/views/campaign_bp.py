"""The one Blueprint ("campaigns", under /campaigns) that several view modules add their pages to:
campaigns.py (the list, a campaign's page, wiping), wizard.py, edit.py, share.py, roster.py and
counts.py. It lives alone so each of them imports it and none imports another (no import circle);
views/__init__.py imports all of them before the app registers it."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
