"""Who may reach what: staff sessions, roles, the staff network, CSRF, response headers."""

from __future__ import annotations

import ipaddress
from functools import wraps
from typing import Callable

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from appliance.models import StaffUser

csrf = CSRFProtect()
STAFF_BLUEPRINTS = {"printing_staff", "printing_api", "auth", "desk", "schedule", "members", "api", "reports", "survey_staff", "wifi_staff"}
STAFF_BLUEPRINTS |= {"helpqueue_staff", "helpqueue_api"}  # the help queue
STAFF_BLUEPRINTS |= {"lending", "lending_api"}  # the laptop-thèque
STAFF_BLUEPRINTS |= {"booking_staff", "booking_api"}  # booking: the desk and the API
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    # Parsed once here, not on every request.
    app.extensions["epn_staff_networks"] = [
        ipaddress.ip_network(net) for net in app.extensions["epn_config"].staff.allowed_networks
    ]
    app.before_request(_guard_staff_network)
    app.before_request(_load_user)
    app.after_request(_headers)


def _guard_staff_network() -> None:
    """Staff pages and the API answer only from the configured staff networks."""
    networks = current_app.extensions["epn_staff_networks"]
    if not networks or request.blueprint not in STAFF_BLUEPRINTS:
        return
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        abort(404)
    if not any(address in net for net in networks):
        abort(404)


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = StaffUser.get_or_none((StaffUser.id == user_id) & StaffUser.active)
    if user is None or user.session_epoch != session.get("epoch"):
        session.clear()
        return
    g.user = user


def _headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if g.get("user") is not None or request.blueprint in STAFF_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def login_required(view: Callable) -> Callable:
    """The view needs a signed-in staff member; others go to the login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        if g.get("user") is None:
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target))
        return view(*args, **kwargs)

    return wrapped


def coordinator_required(view: Callable) -> Callable:
    """The view needs a coordinator; a mediator gets 403 with an explanation."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        if g.user.role != "coordinator":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go back to, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
