"""Every Blueprint of the app, registered in this order by create_app (add yours to the list).

The "campaigns" Blueprint (campaign_bp.py) gets its pages from six modules: importing them here,
before create_app registers it, is what adds their routes."""

from organizer.app.views import campaigns, counts, edit, roster, share, wizard  # noqa: F401 (routes)
from organizer.app.views.campaign_bp import bp as campaigns_bp
from organizer.app.views.coalition import bp as coalition_bp
from organizer.app.views.home import bp as home_bp
from organizer.app.views.jobs import bp as jobs_bp
from organizer.app.views.keys import bp as keys_bp
from organizer.app.views.news import bp as news_bp
from organizer.app.views.people import bp as people_bp
from organizer.app.views.start import bp as start_bp
from organizer.app.views.watch import bp as watch_bp

BLUEPRINTS = [start_bp, home_bp, jobs_bp, coalition_bp, people_bp, keys_bp, news_bp, campaigns_bp,
              watch_bp]
