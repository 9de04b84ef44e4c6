"""The visitors' side (welcome page, language choice) and the health check."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request

from appliance.config import VISITOR_LANGUAGES
from appliance.db import database
from appliance.desk.schedule import open_state, weekly_hours
from appliance.migrations import LATEST, current_version
from appliance.web.i18n import COOKIE
from appliance.web.security import safe_next
from appliance.web.util import local_now, settings

bp = Blueprint("portal", __name__)


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    now = local_now()
    return render_template(
        "portal/home.html", state=open_state(now), week=weekly_hours(), today=now.weekday(),
        site=settings().site,
    )


@bp.route("/lang/<code>")
def choose_language(code: str):  # type: ignore[no-untyped-def]
    """Remember the language chosen (a cookie) and go back to the page."""
    response = make_response(redirect(safe_next(request.args.get("next"), "/")))
    if code in VISITOR_LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=settings().server.tls)
    return response


@bp.route("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    version = current_version(database)
    ok = version == LATEST
    return {"status": "ok" if ok else "schema-mismatch", "schema": version}, 200 if ok else 503
