"""The laptop-thèque in the JSON API (/api/v1/devices, /api/v1/loans), token-authenticated
like the rest of the API and described in the same OpenAPI document."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request

from appliance.errors import InvalidInput, NotFound
from appliance.lending import loans
from appliance.lending.inventory import get_device, list_devices
from appliance.members import normalise_number
from appliance.models import Device, Loan, Member
from appliance.web import api
from appliance.web.errors import render_error
from appliance.web.openapi import ApiSpec
from appliance.web.security import csrf
from appliance.web.util import local_now, settings, translate

bp = Blueprint("lending_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
bp.before_request(api.require_token)
spec = ApiSpec(bp, api.spec.title)
spec.paths, spec.schemas = api.spec.paths, api.spec.schemas
spec.schemas["CheckOut"] = {
    "type": "object",
    "required": ["tag", "member_number"],
    "additionalProperties": False,
    "properties": {
        "tag": {"type": "string"},
        "member_number": {"type": "string", "description": "The 9-digit card number."},
        "loan_kind": {"type": "string", "enum": list(loans.LOAN_KINDS), "default": "home"},
        "accept_terms": {
            "type": "boolean",
            "description": "The borrower accepted the lending terms now.",
        },
        "due_day": {
            "type": "string",
            "format": "date",
            "description": "Default: by the lending rules.",
        },
    },
}
spec.schemas["CheckIn"] = {
    "type": "object",
    "required": ["condition"],
    "additionalProperties": False,
    "properties": {
        "accessories_back": {"type": "array", "items": {"type": "string"}},
        "condition": {"type": "string", "enum": ["new", "good", "worn", "damaged"]},
        "notes": {"type": "string", "maxLength": 300},
        "damaged": {"type": "boolean"},
        "wiped": {"type": "boolean"},
        "signed_out": {"type": "boolean"},
    },
}
spec.schemas["Reset"] = {
    "type": "object",
    "required": ["wiped", "signed_out"],
    "additionalProperties": False,
    "properties": {"wiped": {"type": "boolean"}, "signed_out": {"type": "boolean"}},
}
ERRORS = {400: "Bad input.", 401: "No valid token."}
KIND_PARAM = {"name": "kind", "in": "query", "required": False, "schema": {"type": "string"}}
STATUS_PARAM = {"name": "status", "in": "query", "required": False, "schema": {"type": "string"}}
STATE_PARAM = {
    "name": "state",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["open", "overdue"]},
}


def _string_path_params() -> None:
    """Tags are text, not the integers ApiSpec assumes for path parameters."""
    for operations in spec.paths.values():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["name"] == "tag":
                    parameter["schema"] = {"type": "string"}


def device_json(device: Device) -> dict:
    return {
        "tag": device.tag,
        "kind": device.kind,
        "model": device.model,
        "serial": device.serial,
        "accessories": [a for a in device.accessories.split("|") if a],
        "status": device.status,
        "condition": device.condition,
        "funding": device.funding,
        "owner": device.owner,
        "owned_from": device.owned_from.isoformat() if device.owned_from else None,
    }


def loan_json(loan: Loan) -> dict:
    """A loan as the API shows it: the borrower's card number only, never the name."""

    def moment(value):  # type: ignore[no-untyped-def]
        return value.isoformat(timespec="minutes") if value else None

    return {
        "id": loan.id,
        "device": loan.device.tag,
        "kind": loan.kind,
        "state": loan.state,
        "member_number": loan.borrower.number if loan.borrower else None,
        "started_at": moment(loan.started_at),
        "due_at": moment(loan.due_at),
        "returned_at": moment(loan.returned_at),
        "renewals": loan.renewals,
    }


def _body(allowed: set[str]) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or set(data) - allowed:
        abort(400)
    return data


def _flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        abort(400)
    return value


@spec.route(
    "/devices",
    "GET",
    "The inventory (retired devices only when asked by status).",
    {200: "The devices.", **ERRORS},
    [KIND_PARAM, STATUS_PARAM],
)
def list_lending_devices():  # type: ignore[no-untyped-def]
    found = list_devices(request.args.get("kind", ""), request.args.get("status", ""))
    return {"devices": [device_json(d) for d in found]}


@spec.route(
    "/devices/<tag>",
    "GET",
    "One device, by its asset tag.",
    {200: "The device.", 401: "No valid token.", 404: "No such tag."},
)
def show_device(tag: str):  # type: ignore[no-untyped-def]
    try:
        device = get_device(tag)
    except NotFound:
        return render_error(404, "no device has this tag")
    loan = loans.open_loan_of(device)
    return {**device_json(device), "loan": loan_json(loan) if loan else None}


@spec.route(
    "/devices/<tag>/reset",
    "POST",
    "Record the reset step of a returned device.",
    {200: "The device.", **ERRORS, 404: "No such tag."},
    body="Reset",
)
def reset_device(tag: str):  # type: ignore[no-untyped-def]
    data = _body({"wiped", "signed_out"})
    try:
        device = loans.record_reset(
            tag, _flag(data, "wiped"), _flag(data, "signed_out"), None, local_now()
        )
    except InvalidInput as error:
        return render_error(
            404 if error.field == "tag" and "No device" in error.message else 400, translate(error)
        )
    return device_json(device)


@spec.route(
    "/loans",
    "GET",
    "Loans in progress (or only the overdue ones), soonest due first.",
    {200: "The loans.", **ERRORS},
    [STATE_PARAM],
)
def list_loans():  # type: ignore[no-untyped-def]
    if request.args.get("state") == "overdue":
        return {"loans": [loan_json(o.loan) for o in loans.overdue_loans(local_now())]}
    return {"loans": [loan_json(loan) for loan in loans.current_loans()]}


@spec.route(
    "/loans",
    "POST",
    "Lend a device to a member (check-out).",
    {201: "The loan.", **ERRORS, 409: "The device is not available."},
    body="CheckOut",
)
def create_loan():  # type: ignore[no-untyped-def]
    data = _body({"tag", "member_number", "loan_kind", "accept_terms", "due_day"})
    member = Member.get_or_none(
        Member.number == normalise_number(str(data.get("member_number", "")))
    )
    if member is None:
        return render_error(400, "no member has this card number")
    try:
        due_day = date.fromisoformat(data["due_day"]) if data.get("due_day") else None
    except (TypeError, ValueError):
        return render_error(400, "due_day must be a date like 2026-12-01")
    try:
        loan = loans.check_out(
            str(data.get("tag", "")),
            member,
            str(data.get("loan_kind", "home")),
            None,
            local_now(),
            accept_terms=_flag(data, "accept_terms"),
            due_day=due_day,
            config=settings().lending,
        )
    except loans.DeviceUnavailable as error:
        return render_error(409, translate(error))
    except InvalidInput as error:
        return render_error(400, translate(error))
    return loan_json(loan), 201


@spec.route(
    "/loans/<int:loan_id>/return",
    "POST",
    "Take a device back with the checklist (check-in).",
    {200: "The loan, returned.", **ERRORS, 404: "No such loan.", 409: "Not on loan."},
    body="CheckIn",
)
def return_loan(loan_id: int):  # type: ignore[no-untyped-def]
    data = _body({"accessories_back", "condition", "notes", "damaged", "wiped", "signed_out"})
    back = data.get("accessories_back", [])
    if not isinstance(back, list) or not all(isinstance(a, str) for a in back):
        return render_error(400, "accessories_back must be a list of accessories")
    try:
        loan = loans.get_loan(loan_id)
    except NotFound:
        return render_error(404, "no such loan")
    if loan.state not in ("open", "lost"):
        return render_error(409, "this loan is not in progress")
    try:
        result = loans.check_in(
            loan.device.tag,
            None,
            local_now(),
            back,
            str(data.get("condition", "")),
            str(data.get("notes", "")),
            _flag(data, "damaged"),
            _flag(data, "wiped"),
            _flag(data, "signed_out"),
        )
    except InvalidInput as error:
        return render_error(400, translate(error))
    return {
        **loan_json(result.loan),
        "missing": result.missing,
        "reset_recorded": result.reset,
        "maintenance_opened": result.maintenance is not None,
    }


_string_path_params()
