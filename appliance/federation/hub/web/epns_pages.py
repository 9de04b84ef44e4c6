"""The coordination's pages about each EPN: the list, and one EPN's page (identity, key,
reports received on time, label criteria, plausibility flags)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale

from appliance.errors import InvalidInput
from appliance.federation.hub import dashboard as dash
from appliance.federation.hub.models import EPN
from appliance.federation.hub.profile import epn_profile, last_received
from appliance.federation.hub.web import login_required
from appliance.federation.hub.web.dashboard import now_utc, settings, today
from appliance.municipalities import commune_label
from appliance.web.util import translate

bp = Blueprint("hub_epns", __name__)


@bp.route("/epns")
@login_required
def index():  # type: ignore[no-untyped-def]
    language = str(get_locale() or "fr")
    last = last_received()
    epns = [{"id": e.id, "name": e.name, "commune": e.commune, "commune_name": commune_label(e.commune, language),
             "postal_code": e.postal_code, "organiser": e.organiser, "active": e.active,
             "last_received": last.get(e.id)} for e in EPN.select().order_by(EPN.name, EPN.id)]
    return render_template("hub/epns.html", epns=epns)


@bp.route("/epns/<epn_id>")
@login_required
def show(epn_id: str):  # type: ignore[no-untyped-def]
    typed = request.args.get("period", "")
    try:
        period = dash.parse_period(typed, today())
    except InvalidInput as error:
        return render_template("hub/error.html", status=400, message=translate(error)), 400
    profile = epn_profile(epn_id[:32], period, settings().tz, settings().hub.on_time_days, now_utc(),
                          str(get_locale() or "fr"))
    if profile is None:
        abort(404)
    return render_template("hub/epn.html", profile=profile, period=period, typed=str(period))
