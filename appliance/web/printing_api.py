"""Printing in the JSON API (/api/v1/printing/…): held and recent jobs, releasing one for a
member or the guest holding its code, and a member's quota. Token-authenticated like the
rest of the API and described in the same OpenAPI document. No document names."""

from __future__ import annotations

from flask import Blueprint, abort, request

from appliance.errors import InvalidInput, NotFound
from appliance.hardware.printing import PrintSystemError
from appliance.models import PrintJob
from appliance.printing import jobs as print_jobs
from appliance.printing.quotas import member_balance, quota_period
from appliance.web import api
from appliance.web.errors import render_error
from appliance.web.openapi import ApiSpec
from appliance.web.printing import print_system
from appliance.web.printing_staff import member_by_number
from appliance.web.security import csrf
from appliance.web.util import local_now, settings, translate

bp = Blueprint("printing_api", __name__, url_prefix="/api/v1/printing")
csrf.exempt(bp)
bp.before_request(api.require_token)
spec = ApiSpec(bp, api.spec.title)
spec.paths, spec.schemas = api.spec.paths, api.spec.schemas
spec.schemas["PrintRelease"] = {
    "type": "object", "additionalProperties": False,
    "properties": {"member": {"type": "string", "description": "A member's card number; none: the guest's code."}},
}
STATES = ("held", "released", "charged", "refunded", "cancelled", "expired")


def job_json(job: PrintJob) -> dict:
    def moment(value):  # type: ignore[no-untyped-def]
        return value.isoformat(timespec="seconds") + "Z" if value else None

    return {"id": job.id, "printer": job.printer, "source": job.source, "code": job.code, "pages": job.pages,
            "copies": job.copies, "duplex": job.duplex, "colour": job.colour, "units": job.units,
            "state": job.state, "note": job.note, "member": job.member.number if job.member_id else None,
            "submitted_at": moment(job.submitted_at), "released_at": moment(job.released_at),
            "finished_at": moment(job.finished_at)}


@spec.route("/jobs", "GET", "Print jobs in one state (held by default), newest last, at most 200.",
            {200: "The jobs.", 400: "Unknown state.", 401: "No valid token."},
            parameters=[{"name": "state", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": list(STATES)}}])
def list_jobs():  # type: ignore[no-untyped-def]
    state = request.args.get("state", "held")
    if state not in STATES:
        return render_error(400, "state must be one of " + ", ".join(STATES))
    query = PrintJob.select().where(PrintJob.state == state).order_by(PrintJob.id.desc()).limit(200)
    return {"jobs": [job_json(job) for job in reversed(list(query))]}


@spec.route("/jobs/<int:job_id>/release", "POST",
            "Release a held job for a member, or within the guest allowance of its code.",
            {200: "Released (state released; charged once CUPS completes it).",
             400: "Over quota, unknown member, or the printer refused.", 401: "No valid token.",
             404: "No such job.", 503: "CUPS cannot be reached."}, body="PrintRelease")
def release_job(job_id: int):  # type: ignore[no-untyped-def]
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict) or set(data) - {"member"} or not isinstance(data.get("member", ""), str):
        return render_error(400, "expected a JSON object with an optional 'member' card number")
    try:
        member = member_by_number(data.get("member", ""))
        done = print_jobs.release(print_system(), settings(), job_id, local_now(), member=member)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    except PrintSystemError:
        return render_error(503, "CUPS cannot be reached")
    return {**job_json(done.job), "waiting": done.waiting}


@spec.route("/quotas/<member_number>", "GET", "A member's pages allowed and used in the current period.",
            {200: "The balance.", 401: "No valid token.", 404: "No member has this card number."})
def member_quota(member_number: str):  # type: ignore[no-untyped-def]
    try:
        member = member_by_number(member_number)
    except InvalidInput:
        abort(404)
    if member is None:
        abort(404)
    period = quota_period(local_now().date(), settings().printing)
    balance = member_balance(member, period, settings().printing)
    return {"member": member.number, "period": period,
            "bw": {"allowed": balance.bw_allowed, "used": balance.bw_used, "left": balance.left(False)},
            "colour": {"allowed": balance.colour_allowed, "used": balance.colour_used, "left": balance.left(True)}}
