"""The coordination's dashboard (signed in) and the public page of published figures."""

from __future__ import annotations

from flask import Blueprint, render_template

from appliance.federation.hub.web import login_required

bp = Blueprint("hub_dashboard", __name__)


@bp.route("/dashboard")
@login_required
def home():  # type: ignore[no-untyped-def]
    return render_template("hub/dashboard.html")
