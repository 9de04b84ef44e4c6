"""Booking for visitors: a seat, a help appointment or a workshop place in three screens
(what, when + name, the ticket), no account, no e-mail, no JavaScript needed.

Screen 1 is /booking/, screen 2 the slot list with the name field, screen 3 the ticket
with the code shown big, its QR code and a printable version. The code finds the booking
again (to see it or cancel it); wrong codes from one client are limited.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from appliance.booking.bookings import (
    Unavailable,
    Visitor,
    WorkshopFull,
    book_help,
    book_seat,
    book_workshop,
    cancel_booking,
    find_by_code,
    waitlist_position,
)
from appliance.booking.catalogue import FEATURES, upcoming_workshops
from appliance.booking.codes import WrongCodeLimiter, format_code, normalise_code, qr_svg
from appliance.booking.ical import workshops_calendar
from appliance.booking.slots import HELP_KINDS, bookable_days, help_slots, seat_slots, state_of
from appliance.desk.schedule import Calendar
from appliance.errors import N_, InvalidInput
from appliance.web.util import local_now, settings, translate

bp = Blueprint("booking", __name__, url_prefix="/booking")

KIND_ICONS = {"seat": "b-seat", "help": "s-help", "workshop": "people"}
HELP_ICONS = {"forms": "form", "eid": "b-eid", "itsme": "b-itsme", "irisbox": "s-townhall", "job_search": "job"}
FEATURE_ICONS = {"eid_reader": "b-eid", "scanner": "b-scanner", "accessibility": "b-access"}
KIND_LABELS = {"seat": _l("A computer"), "help": _l("Help from a mediator"), "workshop": _l("A workshop")}
HELP_LABELS = {"forms": _l("Forms"), "eid": _l("e-ID card"), "itsme": _l("itsme"),
               "irisbox": _l("IRISbox"), "job_search": _l("Job search")}
FEATURE_LABELS = {"eid_reader": _l("e-ID reader"), "scanner": _l("Scanner"),
                  "accessibility": _l("Accessibility kit")}
LEVEL_LABELS = {"beginner": _l("Beginner"), "intermediate": _l("Intermediate"), "advanced": _l("Advanced")}
STATE_LABELS = {"booked": _l("Booked"), "waiting": _l("On the waitlist"), "checked_in": _l("You came"),
                "cancelled": _l("Cancelled"), "withdrawn": _l("Left the waitlist"), "no_show": _l("Missed")}


class VisitorForm(FlaskForm):
    nickname = StringField(_l("Your first name or a nickname"), validators=[Length(max=40)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)])


@bp.app_context_processor
def booking_labels() -> dict:
    return {"kind_icons": KIND_ICONS, "help_icons": HELP_ICONS, "feature_icons": FEATURE_ICONS,
            "kind_labels": KIND_LABELS, "help_labels": HELP_LABELS, "feature_labels": FEATURE_LABELS,
            "level_labels": LEVEL_LABELS, "state_labels": STATE_LABELS, "format_code": format_code,
            "timedelta": timedelta}


def _limiter() -> WrongCodeLimiter:
    return current_app.extensions.setdefault("epn_booking_limiter", WrongCodeLimiter())


def _visitor(form: VisitorForm) -> Visitor:
    return Visitor(form.nickname.data or "", form.phone.data or "", str(get_locale() or "fr"))


def _day(raw: str | None, days: list[date]) -> date | None:
    try:
        chosen = date.fromisoformat(raw) if raw else None
    except ValueError:
        chosen = None
    return chosen if chosen in days else (days[0] if days else None)


def _slot(raw: str | None) -> datetime:
    try:
        return datetime.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput("slot", N_("Choose a time from the list.")) from None


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("booking/home.html")


# --- Seats and help appointments: one screen for the day, the time and the name ------------


def _slot_page(kind: str, form: VisitorForm, status: int = 200, error: str | None = None,
               alternative=None, chosen: str = ""):  # type: ignore[no-untyped-def]
    now = local_now()
    config = settings().booking
    calendar = Calendar.load()
    days = bookable_days(now.date(), config, calendar)
    source = request.form if request.method == "POST" else request.args
    day = _day(source.get("day"), days)
    feature = source.get("feature", "") if source.get("feature", "") in FEATURES else ""
    help_kind = source.get("help_kind", "") if source.get("help_kind", "") in HELP_KINDS else ""
    if kind == "seat":
        slots = seat_slots(day, now, config, calendar, feature) if day else []
    else:
        slots = help_slots(day, now, config, calendar) if day else []
    return render_template(
        "booking/slots.html", kind=kind, form=form, days=days, day=day, slots=slots, feature=feature,
        help_kind=help_kind, error=error, alternative=alternative, chosen=chosen or source.get("slot", ""),
    ), status


@bp.route("/seat", methods=["GET", "POST"])
def seat():  # type: ignore[no-untyped-def]
    return _book("seat")


@bp.route("/help", methods=["GET", "POST"])
def help_appointment():  # type: ignore[no-untyped-def]
    return _book("help")


def _book(kind: str):  # type: ignore[no-untyped-def]
    form = VisitorForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _slot_page(kind, form, 400 if form.errors else 200)
    config = settings().booking
    try:
        starts = _slot(request.form.get("slot"))
        if kind == "seat":
            booking = book_seat(starts, _visitor(form), local_now(), config, request.form.get("feature", ""))
        else:
            booking = book_help(starts, request.form.get("help_kind", ""), _visitor(form), local_now(), config)
    except Unavailable as error:
        return _slot_page(kind, form, 409, translate(error), error.alternative)
    except InvalidInput as error:
        return _slot_page(kind, form, 400, translate(error))
    return redirect(url_for("booking.ticket", code=booking.code), 303)


# --- Workshops ---------------------------------------------------------------------------


def _workshop_page(form: VisitorForm, status: int = 200, error: str | None = None, full: int | None = None):  # type: ignore[no-untyped-def]
    workshops = upcoming_workshops(local_now(), limit=40)
    chosen = request.form.get("workshop", "") if request.method == "POST" else request.args.get("w", "")
    return render_template("booking/workshops.html", form=form, workshops=workshops, error=error,
                           full=full, chosen=chosen), status


@bp.route("/workshops", methods=["GET", "POST"])
def workshops():  # type: ignore[no-untyped-def]
    form = VisitorForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _workshop_page(form, 400 if form.errors else 200)
    raw = request.form.get("workshop", "")
    try:
        if not raw.isdigit():
            raise InvalidInput("workshop", N_("Choose a workshop from the list."))
        booking = book_workshop(int(raw), _visitor(form), local_now(),
                                waitlist=request.form.get("waitlist") == "1")
    except WorkshopFull as error:
        return _workshop_page(form, 409, translate(error), full=int(raw))
    except InvalidInput as error:
        return _workshop_page(form, 400, translate(error))
    return redirect(url_for("booking.ticket", code=booking.code), 303)


@bp.route("/workshops.ics")
def calendar_feed():  # type: ignore[no-untyped-def]
    """The public workshop programme, RFC 5545, for the library's or municipality's site."""
    body = workshops_calendar(local_now(), settings().tz, settings().site.name)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="workshops.ics"'
    return response


# --- The code: see, print, cancel ---------------------------------------------------------


def _too_many() -> int:
    config = settings().booking
    return _limiter().wait_seconds(request.remote_addr or "?", config.code_attempts,
                                   config.code_lockout_minutes * 60)


def _lookup(code: str):  # type: ignore[no-untyped-def]
    """The booking of `code`, or an error page (unknown code, or too many wrong ones)."""
    wait = _too_many()
    if wait:
        minutes = max(1, (wait + 59) // 60)
        return None, (render_template("booking/find.html", too_many=minutes, code=""), 429)
    booking = find_by_code(code)
    if booking is None:
        _limiter().failed(request.remote_addr or "?", settings().booking.code_lockout_minutes * 60)
        return None, (render_template("booking/find.html", unknown=True, code=code[:20]), 404)
    return booking, None


@bp.route("/find", methods=["POST"])
def find():  # type: ignore[no-untyped-def]
    typed = request.form.get("code", "")[:40]
    code = normalise_code(typed)
    booking, page = _lookup(code or typed)
    if page:
        return page
    return redirect(url_for("booking.ticket", code=booking.code), 303)


@bp.route("/t/<code>")
def ticket(code: str):  # type: ignore[no-untyped-def]
    booking, page = _lookup(code)
    if page:
        return page
    if booking.code != code:
        return redirect(url_for("booking.ticket", code=booking.code), 303)
    return _ticket_page(booking, "booking/ticket.html")


@bp.route("/t/<code>/print")
def print_ticket(code: str):  # type: ignore[no-untyped-def]
    booking, page = _lookup(code)
    if page:
        return page
    return _ticket_page(booking, "booking/print.html")


def _ticket_page(booking, template: str, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    now = local_now()
    state = state_of(booking, now, settings().booking)
    position = waitlist_position(booking) if state == "waiting" else None
    return render_template(template, booking=booking, state=state, position=position,
                           qr=qr_svg(booking.code), over=booking.ends <= now,
                           can_cancel=state in ("booked", "waiting") and booking.ends > now,
                           error=error, cancel_form=FlaskForm()), status


@bp.route("/t/<code>/cancel", methods=["POST"])
def cancel(code: str):  # type: ignore[no-untyped-def]
    booking, page = _lookup(code)
    if page:
        return page
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        cancel_booking(booking.id, local_now())
    except InvalidInput as error:
        return _ticket_page(booking, "booking/ticket.html", 400, translate(error))
    return redirect(url_for("booking.ticket", code=booking.code), 303)
