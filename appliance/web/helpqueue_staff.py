"""The help queue at the desk: call the next number, mark it served (a visit) or absent,
call again or put back, and take a number for a visitor who asks at the desk."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from appliance.desk.visits import PURPOSES, services_of, visits_on
from appliance.errors import N_, InvalidInput, NotFound
from appliance.helpqueue import (
    QueueClosed,
    TooManyTickets,
    call_next,
    check_counter,
    mark_absent,
    mark_served,
    purpose_of,
    put_back,
    recall,
    take_ticket,
    tickets_on,
)
from appliance.helpqueue.tickets import service_minutes
from appliance.web.forms import EmptyForm
from appliance.web.helpqueue import kind_label
from appliance.web.security import login_required
from appliance.web.util import local_now, settings, translate

bp = Blueprint("helpqueue_staff", __name__, url_prefix="/staff/queue")
COUNTER_KEY = "queue_counter"  # the desk this browser calls from, remembered in its session


def _board(error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    now = local_now()
    config = settings().queue
    tickets = tickets_on(now.date())
    return render_template(
        "helpqueue/board.html",
        called=[t for t in tickets if t.state == "called"],
        waiting=[t for t in tickets if t.state == "waiting"],
        done=[t for t in tickets if t.state not in ("called", "waiting")][::-1],
        kinds=list(config.help_kinds), purposes=PURPOSES, purpose_of=lambda t: purpose_of(t, config),
        recent_visits=visits_on(now.date(), limit=10), services_of=services_of,
        counters=config.counters, counter=session.get(COUNTER_KEY, 1),
        minutes=round(service_minutes(now.date(), config.default_service_minutes)),
        now=now, error=error, form=EmptyForm(),
    ), status


def _checked_form() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _int_or_none(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(name, N_("Choose from the list."))
    return int(raw)


def _done(message: str):  # type: ignore[no-untyped-def]
    flash(message, "ok")
    return redirect(url_for("helpqueue_staff.board"), 303)


@bp.route("/")
@login_required
def board():  # type: ignore[no-untyped-def]
    return _board()


@bp.route("/next", methods=["POST"])
@login_required
def next_ticket():  # type: ignore[no-untyped-def]
    _checked_form()
    try:
        counter = check_counter(_int_or_none("counter"), settings().queue)
    except InvalidInput as error:
        return _board(translate(error), 400)
    session[COUNTER_KEY] = counter or 1
    ticket = call_next(local_now(), counter)
    if ticket is None:
        return _done(_("Nobody is waiting."))
    return _done(_("Number %(number)s called: %(kind)s.", number=ticket.number, kind=kind_label(ticket.kind)))


@bp.route("/take", methods=["POST"])
@login_required
def take():  # type: ignore[no-untyped-def]
    _checked_form()
    try:
        ticket = take_ticket(request.form.get("kind", "")[:40], local_now(), settings().queue, "desk")
    except InvalidInput as error:
        return _board(translate(error), 400)
    except QueueClosed:
        return _board(_("The help queue is closed now."), 409)
    except TooManyTickets:
        return _board(_("The queue is full."), 409)
    return _done(_("Number %(number)s taken: give it to the visitor.", number=ticket.number))


@bp.route("/<int:ticket_id>/<action>", methods=["POST"])
@login_required
def change(ticket_id: int, action: str):  # type: ignore[no-untyped-def]
    """Served, absent, call again or put back: one ticket's buttons."""
    _checked_form()
    now = local_now()
    try:
        if action == "served":
            purpose = request.form.get("purpose", "")
            ticket = mark_served(ticket_id, now, purpose, _int_or_none("attach_to"))
            return _done(_("Number %(number)s served: the visit is counted.", number=ticket.number))
        if action == "absent":
            ticket = mark_absent(ticket_id, now)
            return _done(_("Number %(number)s marked absent.", number=ticket.number))
        if action == "recall":
            counter = check_counter(_int_or_none("counter"), settings().queue)
            ticket = recall(ticket_id, now, counter)
            return _done(_("Number %(number)s called again.", number=ticket.number))
        if action == "back":
            ticket = put_back(ticket_id, now)
            return _done(_("Number %(number)s is waiting again.", number=ticket.number))
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return _board(translate(error), 400)
    abort(404)
