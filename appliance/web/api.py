"""The token-authenticated JSON API under /api/v1/ (documented at /api/v1/openapi.json)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, jsonify, request

from appliance.accounts import check_token
from appliance.desk import glance
from appliance.desk.visits import delete_visit, log_visit, services_of, visits_on
from appliance.errors import InvalidInput, NotFound
from appliance.period import Period
from appliance.registry import collect_figures
from appliance.web.errors import render_error
from appliance.web.openapi import ApiSpec
from appliance.web.security import csrf
from appliance.web.util import local_now, settings, translate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
spec = ApiSpec(bp, "EPN appliance API")
spec.schemas["NewVisit"] = {
    "type": "object",
    "required": ["purpose"],
    "properties": {
        "purpose": {"type": "string", "enum": ["learning_ict", "job_search", "leisure_culture_info",
                                                "housing_elearning", "admin_procedures"]},
        "services": {"type": "array", "items": {"type": "string",
                     "enum": ["computer", "mediator", "printing", "wifi", "training"]}},
    },
    "additionalProperties": False,
}
DAY_PARAM = {"name": "day", "in": "query", "required": False,
             "schema": {"type": "string", "format": "date"}}
PERIOD_PARAM = {"name": "period", "in": "query", "required": True,
                "schema": {"type": "string", "examples": ["2026-W47", "2026-11", "2026"]}}


@bp.before_request
def require_token():  # type: ignore[no-untyped-def]
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    g.api_token = check_token(token) if token else None
    if g.api_token is None:
        return render_error(401, "A valid API token is required (Authorization: Bearer …).")
    return None


def _visit_json(visit) -> dict:  # type: ignore[no-untyped-def]
    return {"id": visit.id, "day": visit.day.isoformat(), "hour": visit.hour,
            "purpose": visit.purpose, "source": visit.source, "services": services_of(visit)}


@spec.route("/openapi.json", "GET", "This document.", {200: "The OpenAPI document."}, public=True)
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(spec.document())


@spec.route("/visits", "GET", "Visits of one day (today by default).",
            {200: "The visits.", 400: "Bad day.", 401: "No valid token."}, [DAY_PARAM])
def list_visits():  # type: ignore[no-untyped-def]
    raw = request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw else local_now().date()
    except ValueError:
        return render_error(400, "day must be a date like 2026-11-21")
    return {"day": day.isoformat(), "visits": [_visit_json(v) for v in visits_on(day)]}


@spec.route("/visits", "POST", "Log a walk-in visit now.",
            {201: "The visit.", 400: "Bad input.", 401: "No valid token."}, body="NewVisit")
def create_visit():  # type: ignore[no-untyped-def]
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or set(data) - {"purpose", "services"}:
        return render_error(400, "expected a JSON object with 'purpose' and optional 'services'")
    services = data.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        return render_error(400, "'services' must be a list of service codes")
    try:
        visit = log_visit(str(data.get("purpose", "")), services, local_now())
    except InvalidInput as error:
        return render_error(400, translate(error))
    return _visit_json(visit), 201


@spec.route("/visits/<int:visit_id>", "DELETE", "Delete a visit logged by mistake.",
            {204: "Deleted.", 400: "Not a desk visit.", 401: "No valid token.", 404: "No such visit."})
def remove_visit(visit_id: int):  # type: ignore[no-untyped-def]
    try:
        delete_visit(visit_id)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    return "", 204


@spec.route("/today", "GET", "Today at a glance: visits, open or not, mediators on duty.",
            {200: "Today.", 401: "No valid token."})
def today():  # type: ignore[no-untyped-def]
    now = glance(local_now())
    closure = now.next_closure
    return {
        "epn": settings().site.name,
        "now": now.now.isoformat(timespec="minutes"),
        "visits": now.visits.total,
        "visits_by_purpose": now.visits.by_purpose,
        "open_now": now.state.open_now,
        "open_until": now.state.until.isoformat(timespec="minutes") if now.state.until else None,
        "next_opening": now.state.next_opening.isoformat(timespec="minutes") if now.state.next_opening else None,
        "mediators_on_duty": now.mediators,
        "next_closure": {"first_day": closure.first_day.isoformat(), "last_day": closure.last_day.isoformat()}
        if closure else None,
    }


@spec.route("/figures", "GET", "Every domain's figures for a period (counts only).",
            {200: "The figures.", 400: "Bad period.", 401: "No valid token."}, [PERIOD_PARAM])
def figures():  # type: ignore[no-untyped-def]
    try:
        period = Period.parse(request.args.get("period", ""))
    except ValueError as error:
        return render_error(400, str(error))
    return {"period": str(period), "figures": collect_figures(period)}
