"""The public "now" screen for a TV at the entrance: numbers called, seats free, today's
and the next workshops. No JavaScript (it refreshes itself), no personal data.

`/now?lang=nl` shows one language; `/now?cycle=1` moves to the next visitor language at
each refresh, so the screen speaks to everyone in turn."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import force_locale

from appliance.config import VISITOR_LANGUAGES
from appliance.helpqueue import last_called, waiting_count
from appliance.web.util import local_now, settings

bp = Blueprint("now", __name__)
log = logging.getLogger("appliance.web")


def booking_board(now: datetime) -> dict[str, Any] | None:
    """Seats and workshops from the booking domain, or None while it has no board."""
    try:
        from appliance.booking import now_board
    except (ImportError, AttributeError):
        return None
    try:
        return now_board(now)
    except Exception:  # the queue must stay on screen even if booking fails
        log.exception("the booking board failed; the now screen shows the queue only")
        return None


@bp.route("/now")
def screen():  # type: ignore[no-untyped-def]
    now = local_now()
    chosen = request.args.get("lang", "")
    language = chosen if chosen in VISITOR_LANGUAGES else settings().site.default_language
    cycle = request.args.get("cycle") == "1"
    following = VISITOR_LANGUAGES[(VISITOR_LANGUAGES.index(language) + 1) % len(VISITOR_LANGUAGES)]
    next_url = url_for("now.screen", lang=following if cycle else language, **({"cycle": 1} if cycle else {}))
    called = last_called(now.date())
    with force_locale(language):
        return render_template(
            "now.html", now=now, current=called[0] if called else None, earlier=called[1:],
            waiting=waiting_count(now.date()), board=booking_board(now),
            refresh=settings().queue.now_refresh_seconds, next_url=next_url,
            counters=settings().queue.counters,
        )
