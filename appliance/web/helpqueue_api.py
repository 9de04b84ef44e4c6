"""The help queue in the JSON API (/api/v1/queue/…), token-authenticated like the rest of
the API and described in the same OpenAPI document."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request

from appliance.errors import N_, InvalidInput, NotFound
from appliance.helpqueue import (
    QueueClosed,
    TooManyTickets,
    call_next,
    check_counter,
    mark_absent,
    mark_served,
    purpose_of,
    take_ticket,
    tickets_on,
)
from appliance.models import QueueTicket
from appliance.web import api
from appliance.web.errors import render_error
from appliance.web.openapi import ApiSpec
from appliance.web.security import csrf
from appliance.web.util import local_now, settings, translate

bp = Blueprint("helpqueue_api", __name__, url_prefix="/api/v1/queue")
csrf.exempt(bp)
bp.before_request(api.require_token)
# One OpenAPI document for the whole API: these operations go into the api blueprint's.
spec = ApiSpec(bp, api.spec.title)
spec.paths, spec.schemas = api.spec.paths, api.spec.schemas
spec.schemas["NewTicket"] = {
    "type": "object", "required": ["kind"], "additionalProperties": False,
    "properties": {"kind": {"type": "string", "description": "A kind of help of queue.help_kinds."}},
}
spec.schemas["CallNext"] = {
    "type": "object", "additionalProperties": False,
    "properties": {"counter": {"type": "integer", "minimum": 1, "maximum": 9}},
}
spec.schemas["Served"] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "purpose": {"type": "string", "description": "Default: the purpose of the ticket's kind."},
        "attach_to": {"type": "integer", "description": "A visit logged today: the person is counted once."},
    },
}
ERRORS = {400: "Bad input.", 401: "No valid token."}


def ticket_json(ticket: QueueTicket) -> dict:
    """A ticket as the API shows it: never its visitor token."""
    def moment(value):  # type: ignore[no-untyped-def]
        return value.isoformat(timespec="seconds") if value else None

    return {"id": ticket.id, "day": ticket.day.isoformat(), "number": ticket.number, "kind": ticket.kind,
            "purpose": purpose_of(ticket, settings().queue), "origin": ticket.origin, "state": ticket.state,
            "taken_at": moment(ticket.taken_at), "called_at": moment(ticket.called_at),
            "closed_at": moment(ticket.closed_at), "counter": ticket.counter,
            "visit_id": ticket.visit_id}


def _body(allowed: set[str]) -> dict:
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict) or set(data) - allowed:
        abort(400)
    return data


@spec.route("/tickets", "GET", "The help queue's tickets of one day (today by default).",
            {200: "The tickets, by number.", **ERRORS}, [api.DAY_PARAM])
def list_tickets():  # type: ignore[no-untyped-def]
    raw = request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw else local_now().date()
    except ValueError:
        return render_error(400, "day must be a date like 2026-11-21")
    return {"day": day.isoformat(), "tickets": [ticket_json(t) for t in tickets_on(day)]}


@spec.route("/tickets", "POST", "Take a number for a visitor (at the desk).",
            {201: "The ticket.", **ERRORS, 409: "The queue is closed or full."}, body="NewTicket")
def create_ticket():  # type: ignore[no-untyped-def]
    data = _body({"kind"})
    try:
        ticket = take_ticket(str(data.get("kind", ""))[:40], local_now(), settings().queue, "api")
    except InvalidInput as error:
        return render_error(400, translate(error))
    except QueueClosed:
        return render_error(409, "the help queue is closed now")
    except TooManyTickets:
        return render_error(409, "the queue is full")
    return ticket_json(ticket), 201


@spec.route("/next", "POST", "Call the next waiting number (two callers never get the same).",
            {200: "The ticket called.", 204: "Nobody is waiting.", **ERRORS}, body="CallNext")
def next_ticket():  # type: ignore[no-untyped-def]
    data = _body({"counter"})
    counter = data.get("counter")
    try:
        if counter is not None and (not isinstance(counter, int) or isinstance(counter, bool)):
            raise InvalidInput("counter", N_("Choose a desk from the list."))
        check_counter(counter, settings().queue)
    except InvalidInput as error:
        return render_error(400, translate(error))
    ticket = call_next(local_now(), counter)
    return (ticket_json(ticket), 200) if ticket else ("", 204)


@spec.route("/tickets/<int:ticket_id>/served", "POST",
            "The person was helped: close the ticket and count the visit.",
            {200: "The ticket.", **ERRORS, 404: "No such ticket today."}, body="Served")
def served(ticket_id: int):  # type: ignore[no-untyped-def]
    data = _body({"purpose", "attach_to"})
    attach_to = data.get("attach_to")
    try:
        ticket = QueueTicket.get_or_none(QueueTicket.id == ticket_id)
        if ticket is None:
            raise NotFound(ticket_id)
        if attach_to is not None and (not isinstance(attach_to, int) or isinstance(attach_to, bool)):
            raise InvalidInput("visit", N_("Choose a visit logged today."))
        purpose = data.get("purpose", purpose_of(ticket, settings().queue))
        ticket = mark_served(ticket_id, local_now(), str(purpose), attach_to)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    return ticket_json(ticket)


@spec.route("/tickets/<int:ticket_id>/absent", "POST", "The person did not come when called.",
            {200: "The ticket.", **ERRORS, 404: "No such ticket today."})
def absent(ticket_id: int):  # type: ignore[no-untyped-def]
    try:
        ticket = mark_absent(ticket_id, local_now())
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    return ticket_json(ticket)
