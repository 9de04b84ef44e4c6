"""The help queue for visitors: take a numbered ticket on a phone or the EPN's kiosk,
then watch one's place and the estimated wait. No JavaScript: the ticket page refreshes
itself. The ticket page is reached through a random token (in the address and a cookie),
never through the number alone."""

from __future__ import annotations

import ipaddress
import re

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from appliance.errors import InvalidInput, NotFound
from appliance.helpqueue import (
    QueueClosed,
    TooManyTickets,
    cancel_ticket,
    check_open,
    client_digest,
    place_of,
    take_ticket,
    ticket_by_token,
    waiting_count,
)
from appliance.web.util import local_now, settings, translate

bp = Blueprint("helpqueue", __name__, url_prefix="/queue")

COOKIE = "epn_ticket"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16}$")
REFRESH_SECONDS = 20
KIOSK_BACK_SECONDS = 30

KIND_LABELS = {
    "forms": _l("Forms, letters"),
    "eid": _l("e-ID, itsme"),
    "job": _l("Job search"),
    "computer": _l("Using a computer"),
    "other": _l("Something else"),
}
KIND_ICONS = {"forms": "form", "eid": "q-card", "job": "job", "computer": "learn", "other": "s-question"}


def kind_label(kind: str) -> str:
    """The translated name of a kind of help; a kind the EPN added shows its own code."""
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind.replace("_", " ").capitalize()


@bp.app_context_processor
def queue_labels() -> dict:
    return {"kind_label": kind_label, "kind_icons": KIND_ICONS}


def from_kiosk() -> bool:
    """Whether the request comes from one of the EPN's own kiosk computers."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings().queue.kiosk_networks)


def _start(error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "helpqueue/start.html", kinds=list(settings().queue.help_kinds), error=error,
        waiting=waiting_count(local_now().date()),
    ), status


def _closed(closed: QueueClosed, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("helpqueue/closed.html", closed=closed), status


@bp.route("/")
def start():  # type: ignore[no-untyped-def]
    now = local_now()
    token = request.cookies.get(COOKIE, "")
    if TOKEN.match(token) and not from_kiosk():
        try:
            if ticket_by_token(token, now.date()).state in ("waiting", "called"):
                return redirect(url_for("helpqueue.ticket", token=token))
        except NotFound:
            pass
    try:
        check_open(now, settings().queue)
    except QueueClosed as closed:
        return _closed(closed)
    return _start()


@bp.route("/", methods=["POST"])
def take():  # type: ignore[no-untyped-def]
    kiosk = from_kiosk()
    client = "" if kiosk else client_digest(request.remote_addr or "", settings().secret_key)
    try:
        ticket = take_ticket(request.form.get("kind", "")[:40], local_now(), settings().queue,
                             "kiosk" if kiosk else "portal", client)
    except InvalidInput as error:
        return _start(translate(error), 400)
    except QueueClosed as closed:
        return _closed(closed, 409)
    except TooManyTickets:
        return render_template("helpqueue/too_many.html"), 429
    if kiosk:  # a shared computer: show the number, keep no way back to it
        return _ticket_page(ticket, kiosk=True)
    response = make_response(redirect(url_for("helpqueue.ticket", token=ticket.token), 303))
    response.set_cookie(COOKIE, ticket.token, max_age=16 * 3600, path="/queue", httponly=True,
                        samesite="Lax", secure=settings().server.tls)
    return response


def _find(token: str):  # type: ignore[no-untyped-def]
    if not TOKEN.match(token):
        abort(404)
    try:
        return ticket_by_token(token, local_now().date())
    except NotFound:
        abort(404)


def _ticket_page(ticket, kiosk: bool = False, still: bool = False):  # type: ignore[no-untyped-def]
    place = place_of(ticket, local_now(), settings().queue) if ticket.state == "waiting" else None
    return render_template("helpqueue/ticket.html", ticket=ticket, place=place, kiosk=kiosk,
                           refresh=KIOSK_BACK_SECONDS if kiosk else REFRESH_SECONDS,
                           counters=settings().queue.counters, still=still)


@bp.route("/t/<token>")
def ticket(token: str):  # type: ignore[no-untyped-def]
    """The ticket; it updates itself every 20 s unless the visitor stops it (`?still=1`),
    e.g. because a screen reader restarts at each refresh (WCAG 2.2.1)."""
    return _ticket_page(_find(token), still=request.args.get("still") == "1")


@bp.route("/t/<token>/cancel", methods=["POST"])
def cancel(token: str):  # type: ignore[no-untyped-def]
    _find(token)
    cancel_ticket(token, local_now())
    return redirect(url_for("helpqueue.ticket", token=token), 303)
