"""Booking at the desk: day and week agenda, booking for a visitor, check-in (a visit,
counted once), move, cancel, attendance lists; seats and the workshop programme.

Seats are equipment: only a coordinator changes them. Mediators plan workshops.
The JSON API for bookings and workshops (blueprint `booking_api`) is at the end; it is
registered with this blueprint and described in the one OpenAPI document.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from appliance.accounts import check_token
from appliance.booking.bookings import (
    Unavailable,
    Visitor,
    WorkshopFull,
    agenda,
    attendance,
    book_help,
    book_seat,
    book_workshop,
    cancel_booking,
    check_in,
    default_purpose,
    erase_booking,
    find_by_code,
    get_booking,
    move_booking,
    move_to_workshop,
)
from appliance.booking.catalogue import (
    FEATURES,
    LEVELS,
    WorkshopDraft,
    add_seat,
    cancel_workshop,
    create_workshops,
    features_of,
    get_workshop,
    upcoming_workshops,
    update_seat,
)
from appliance.booking.slots import HELP_KINDS, state_of
from appliance.config import VISITOR_LANGUAGES
from appliance.desk.visits import PURPOSES, visits_on
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Seat, StaffUser
from appliance.web.api import spec as api_spec
from appliance.web.booking import FEATURE_LABELS, HELP_LABELS, KIND_LABELS, LEVEL_LABELS
from appliance.web.errors import render_error
from appliance.web.forms import REQUIRED, MultiCheckboxField, choices
from appliance.web.labels import LANGUAGE_LABELS, PURPOSE_LABELS
from appliance.web.openapi import ApiSpec
from appliance.web.security import coordinator_required, csrf, login_required
from appliance.web.util import attach_error, local_now, settings, translate

bp = Blueprint("booking_staff", __name__, url_prefix="/staff/booking")


class StaffBookingForm(FlaskForm):
    kind = RadioField(_l("What"), choices=choices(KIND_LABELS.items()), validators=[InputRequired(REQUIRED)])
    day = DateField(_l("Day"), validators=[Optional()])
    starts = TimeField(_l("Time"), validators=[Optional()])
    help_kind = SelectField(_l("Help with"), choices=choices([("", "—"), *HELP_LABELS.items()]),
                            validators=[Optional()])
    workshop = SelectField(_l("Workshop"), coerce=str, validators=[Optional()], validate_choice=False)
    waitlist = BooleanField(_l("Put on the waitlist if the workshop is full"))
    nickname = StringField(_l("Name or nickname"), validators=[InputRequired(REQUIRED), Length(max=40)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)])


class CheckInForm(FlaskForm):
    purpose = SelectField(_l("Why did the person come?"), choices=choices(PURPOSE_LABELS.items()),
                          validators=[InputRequired(REQUIRED)])
    attach_to = SelectField(_l("Visit"), coerce=str, validators=[Optional()], validate_choice=False)


class MoveForm(FlaskForm):
    day = DateField(_l("Day"), validators=[InputRequired(REQUIRED)])
    starts = TimeField(_l("Time"), validators=[InputRequired(REQUIRED)])


class MoveWorkshopForm(FlaskForm):
    workshop = SelectField(_l("Workshop"), validators=[InputRequired(REQUIRED)])


class SeatForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(REQUIRED), Length(max=40)])
    features = MultiCheckboxField(_l("Features"), choices=choices(FEATURE_LABELS.items()), validators=[Optional()])
    active = BooleanField(_l("Can be booked"), default=True)


class WorkshopForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(REQUIRED), Length(max=100)])
    description = StringField(_l("Short description"), validators=[Optional(), Length(max=300)])
    language = SelectField(_l("Language"), choices=choices((c, LANGUAGE_LABELS[c]) for c in VISITOR_LANGUAGES))
    level = SelectField(_l("Level"), choices=choices(LEVEL_LABELS.items()))
    audience = StringField(_l("For whom"), validators=[Optional(), Length(max=80)])
    day = DateField(_l("Day (first session)"), validators=[InputRequired(REQUIRED)])
    starts = TimeField(_l("Time"), validators=[InputRequired(REQUIRED)])
    minutes = IntegerField(_l("Duration (minutes)"), default=120,
                           validators=[InputRequired(REQUIRED), NumberRange(15, 480)])
    capacity = IntegerField(_l("Places"), default=8, validators=[InputRequired(REQUIRED), NumberRange(1, 200)])
    mediator = SelectField(_l("Mediator"), coerce=str, validators=[Optional()], validate_choice=False)
    room = StringField(_l("Room"), validators=[Optional(), Length(max=60)])
    weeks = IntegerField(_l("Every week, how many weeks"), default=1,
                         validators=[InputRequired(REQUIRED), NumberRange(1, 52)])


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return local_now().date()


def _check_in_form() -> CheckInForm:
    form = CheckInForm()
    today = visits_on(local_now().date(), 30)
    labels = [(str(v.id), f"{'?' if v.hour is None else v.hour}h · {PURPOSE_LABELS[v.purpose]}") for v in today]
    form.attach_to.choices = choices([("", _("A new visit")), *labels])
    return form


@bp.route("/")
@login_required
def day():  # type: ignore[no-untyped-def]
    shown = _day_arg()
    now = local_now()
    rows = agenda(shown, shown, now, settings().booking)
    check_form = _check_in_form()
    return render_template("booking/staff_day.html", shown=shown, rows=rows, now=now, check_form=check_form,
                           default_purpose=default_purpose, cancel_form=FlaskForm(),
                           workshops=upcoming_workshops(datetime.combine(shown, time()),
                                                        until=datetime.combine(shown + timedelta(days=1), time())))


@bp.route("/week")
@login_required
def week():  # type: ignore[no-untyped-def]
    shown = _day_arg()
    monday = shown - timedelta(days=shown.weekday())
    rows = agenda(monday, monday + timedelta(days=6), local_now(), settings().booking)
    days = {monday + timedelta(days=n): [] for n in range(7)}
    for row in rows:
        days[row.booking.starts.date()].append(row)
    return render_template("booking/staff_week.html", monday=monday, days=days)


@bp.route("/find")
@login_required
def find():  # type: ignore[no-untyped-def]
    """A code typed or scanned at the desk -> that booking's day in the agenda."""
    booking = find_by_code(request.args.get("code", "")[:40])
    if booking is None:
        flash(_("No booking has this code."), "error")
        return redirect(url_for("booking_staff.day"))
    return redirect(url_for("booking_staff.day", day=booking.starts.date().isoformat(),
                            _anchor=f"b{booking.id}"))


def _new_form() -> StaffBookingForm:
    form = StaffBookingForm()
    labels = [(str(v.workshop.id), f"{v.workshop.starts:%d/%m %H:%M} · {v.workshop.title} ({v.places_left})")
              for v in upcoming_workshops(local_now(), limit=60)]
    form.workshop.choices = choices([("", "—"), *labels])
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():  # type: ignore[no-untyped-def]
    """Book on behalf of a visitor (on the phone, at the desk)."""
    form = _new_form()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("booking/staff_new.html", form=form), 400 if form.errors else 200
    try:
        booking = _book_for(form)
    except InvalidInput as error:
        attach_error(form, error, fallback="kind")
        return render_template("booking/staff_new.html", form=form), 409 if isinstance(
            error, (Unavailable, WorkshopFull)) else 400
    flash(_("Booked. Code: %(code)s", code=booking.code), "ok")
    return redirect(url_for("booking_staff.day", day=booking.starts.date().isoformat(), _anchor=f"b{booking.id}"))


def _book_for(form: StaffBookingForm):  # type: ignore[no-untyped-def]
    visitor = Visitor(form.nickname.data or "", form.phone.data or "", "fr")
    now, config = local_now(), settings().booking
    if form.kind.data == "workshop":
        if not (form.workshop.data or "").isdigit():
            raise InvalidInput("workshop", N_("Choose a workshop from the list."))
        return book_workshop(int(form.workshop.data), visitor, now, form.waitlist.data, by_staff=True)
    if form.day.data is None or form.starts.data is None:
        raise InvalidInput("starts", N_("Choose a time from the list."))
    starts = datetime.combine(form.day.data, form.starts.data)
    if form.kind.data == "seat":
        return book_seat(starts, visitor, now, config, by_staff=True)
    return book_help(starts, form.help_kind.data or "", visitor, now, config, by_staff=True)


@bp.route("/<int:booking_id>/check-in", methods=["POST"])
@login_required
def check_in_booking(booking_id: int):  # type: ignore[no-untyped-def]
    form = _check_in_form()
    attach = form.attach_to.data or ""
    if not form.validate_on_submit() or (attach and not attach.isdigit()):
        abort(400)
    try:
        booking = check_in(booking_id, form.purpose.data, local_now(), int(attach) if attach else None)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return redirect(url_for("booking_staff.day")), 303
    flash(_("%(name)s is here: visit logged.", name=booking.nickname), "ok")
    return redirect(url_for("booking_staff.day", day=booking.starts.date().isoformat())), 303


@bp.route("/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id: int):  # type: ignore[no-untyped-def]
    try:
        booking = get_booking(booking_id)
        promoted = cancel_booking(booking_id, local_now())
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return redirect(url_for("booking_staff.day")), 303
    flash(_("Booking cancelled."), "ok")
    if promoted is not None:
        flash(_("The place went to %(name)s, first on the waitlist.", name=promoted.nickname), "ok")
    return redirect(url_for("booking_staff.day", day=booking.starts.date().isoformat())), 303


@bp.route("/<int:booking_id>/erase", methods=["POST"])
@login_required
def erase(booking_id: int):  # type: ignore[no-untyped-def]
    """The visitor asks for their data to be erased: name, phone and code go now."""
    try:
        booking = get_booking(booking_id)
        erase_booking(booking_id, local_now())
    except NotFound:
        abort(404)
    flash(_("Name, phone and code erased."), "ok")
    return redirect(url_for("booking_staff.day", day=booking.starts.date().isoformat())), 303


@bp.route("/<int:booking_id>/move", methods=["GET", "POST"])
@login_required
def move(booking_id: int):  # type: ignore[no-untyped-def]
    try:
        booking = get_booking(booking_id)
    except NotFound:
        abort(404)
    if booking.kind == "workshop":
        return _move_workshop_place(booking)
    form = MoveForm(data={"day": booking.starts.date(), "starts": booking.starts.time()}
                    if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            moved = move_booking(booking_id, datetime.combine(form.day.data, form.starts.data),
                                 local_now(), settings().booking)
        except InvalidInput as error:
            attach_error(form, error, fallback="starts")
            return render_template("booking/staff_move.html", form=form, booking=booking), 409
        flash(_("Booking moved."), "ok")
        return redirect(url_for("booking_staff.day", day=moved.starts.date().isoformat())), 303
    return render_template("booking/staff_move.html", form=form, booking=booking), 400 if form.errors else 200


def _move_workshop_place(booking):  # type: ignore[no-untyped-def]
    """A workshop place moves to another session, sessions of the same series first."""
    form = MoveWorkshopForm()
    sessions = [v for v in upcoming_workshops(local_now(), limit=200) if v.workshop.id != booking.workshop_id]
    sessions.sort(key=lambda v: (v.workshop.series != booking.workshop.series or not v.workshop.series,
                                 v.workshop.starts))
    form.workshop.choices = choices(
        (str(v.workshop.id), f"{v.workshop.starts:%d/%m %H:%M} · {v.workshop.title} ({v.places_left})")
        for v in sessions)
    if request.method == "POST" and form.validate_on_submit():
        try:
            moved = move_to_workshop(booking.id, int(form.workshop.data), local_now())
        except InvalidInput as error:
            attach_error(form, error, fallback="workshop")
            return render_template("booking/staff_move.html", form=form, booking=booking), 409
        flash(_("Booking moved."), "ok")
        return redirect(url_for("booking_staff.day", day=moved.starts.date().isoformat())), 303
    return render_template("booking/staff_move.html", form=form, booking=booking), 400 if form.errors else 200


@bp.route("/workshops/<int:workshop_id>/attendance")
@login_required
def attendance_list(workshop_id: int):  # type: ignore[no-untyped-def]
    try:
        workshop = get_workshop(workshop_id)
    except NotFound:
        abort(404)
    places, waiting = attendance(workshop_id)
    return render_template("booking/staff_attendance.html", workshop=workshop, places=places, waiting=waiting)


# --- The workshop programme and the seats ---------------------------------------------------


def _workshop_form() -> WorkshopForm:
    form = WorkshopForm()
    mediators = StaffUser.select().where(StaffUser.active).order_by(StaffUser.display_name)
    form.mediator.choices = choices([("", "—"), *((str(m.id), m.display_name) for m in mediators)])
    return form


def _programme(form: WorkshopForm | None = None, seat_form: SeatForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "booking/staff_programme.html", form=form or _workshop_form(), seat_form=seat_form or SeatForm(),
        workshops=upcoming_workshops(local_now(), limit=200), seats=list(Seat.select().order_by(Seat.name)),
        features_of=features_of, button_form=FlaskForm(),
    ), status


@bp.route("/programme")
@login_required
def programme():  # type: ignore[no-untyped-def]
    return _programme()


@bp.route("/workshops", methods=["POST"])
@login_required
def new_workshop():  # type: ignore[no-untyped-def]
    form = _workshop_form()
    if not form.validate_on_submit():
        return _programme(form, status=400)
    mediator = form.mediator.data or ""
    draft = WorkshopDraft(
        form.title.data or "", form.description.data or "", form.language.data, form.level.data,
        form.audience.data or "", form.day.data, form.starts.data, form.minutes.data, form.capacity.data,
        int(mediator) if mediator.isdigit() else None, form.room.data or "", form.weeks.data,
    )
    try:
        made, skipped = create_workshops(draft, local_now())
    except InvalidInput as error:
        attach_error(form, error, fallback="title")
        return _programme(form, status=400)
    flash(_("%(n)s session(s) planned.", n=len(made)), "ok")
    if skipped:
        flash(_("%(n)s day(s) left out: the EPN is closed then.", n=skipped), "ok")
    return redirect(url_for("booking_staff.programme")), 303


@bp.route("/workshops/<int:workshop_id>/cancel", methods=["POST"])
@login_required
def remove_workshop(workshop_id: int):  # type: ignore[no-untyped-def]
    try:
        count = cancel_workshop(workshop_id, local_now())
    except NotFound:
        abort(404)
    flash(_("Workshop cancelled; %(n)s booking(s) cancelled with it.", n=count), "ok")
    return redirect(url_for("booking_staff.programme")), 303


@bp.route("/seats", methods=["POST"])
@coordinator_required
def new_seat():  # type: ignore[no-untyped-def]
    form = SeatForm()
    if not form.validate_on_submit():
        return _programme(seat_form=form, status=400)
    try:
        add_seat(form.name.data or "", form.features.data or [])
    except InvalidInput as error:
        attach_error(form, error, fallback="name")
        return _programme(seat_form=form, status=400)
    return redirect(url_for("booking_staff.programme", _anchor="seats")), 303


@bp.route("/seats/<int:seat_id>", methods=["POST"])
@coordinator_required
def change_seat(seat_id: int):  # type: ignore[no-untyped-def]
    form = SeatForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        update_seat(seat_id, form.name.data or "", form.features.data or [], form.active.data)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
    return redirect(url_for("booking_staff.programme", _anchor="seats")), 303


# --- The JSON API (token authentication, in the one OpenAPI document) ---------------------

api_bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)
spec = ApiSpec(api_bp, api_spec.title)
spec.paths, spec.schemas = api_spec.paths, api_spec.schemas  # one document for the whole app
spec.schemas["NewBooking"] = {
    "type": "object",
    "required": ["kind", "nickname"],
    "properties": {
        "kind": {"type": "string", "enum": ["seat", "help", "workshop"]},
        "starts": {"type": "string", "format": "date-time", "description": "seat and help: local time"},
        "help_kind": {"type": "string", "enum": list(HELP_KINDS)},
        "feature": {"type": "string", "enum": list(FEATURES)},
        "workshop": {"type": "integer"},
        "waitlist": {"type": "boolean"},
        "nickname": {"type": "string", "maxLength": 40},
        "phone": {"type": "string", "maxLength": 30},
    },
    "additionalProperties": False,
}
spec.schemas["CheckIn"] = {
    "type": "object",
    "required": ["purpose"],
    "properties": {"purpose": {"type": "string", "enum": list(PURPOSES)},
                   "attach_to": {"type": ["integer", "null"], "description": "a visit logged today"}},
    "additionalProperties": False,
}
spec.schemas["NewWorkshop"] = {
    "type": "object",
    "required": ["title", "language", "level", "starts", "minutes", "capacity"],
    "properties": {
        "title": {"type": "string", "maxLength": 100}, "description": {"type": "string", "maxLength": 300},
        "language": {"type": "string", "enum": list(VISITOR_LANGUAGES)},
        "level": {"type": "string", "enum": list(LEVELS)}, "audience": {"type": "string", "maxLength": 80},
        "starts": {"type": "string", "format": "date-time"}, "minutes": {"type": "integer"},
        "capacity": {"type": "integer"}, "mediator": {"type": ["integer", "null"]},
        "room": {"type": "string", "maxLength": 60}, "weeks": {"type": "integer", "minimum": 1, "maximum": 52},
    },
    "additionalProperties": False,
}
DAY_PARAM = {"name": "day", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}}


@api_bp.before_request
def require_token():  # type: ignore[no-untyped-def]
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    g.api_token = check_token(token) if token else None
    if g.api_token is None:
        return render_error(401, "A valid API token is required (Authorization: Bearer …).")
    return None


def _booking_json(booking, now: datetime) -> dict:  # type: ignore[no-untyped-def]
    return {"id": booking.id, "code": booking.code, "kind": booking.kind,
            "state": state_of(booking, now, settings().booking), "starts": booking.starts.isoformat(),
            "ends": booking.ends.isoformat(), "seat": booking.seat.name if booking.seat else None,
            "help_kind": booking.help_kind or None, "workshop": booking.workshop_id,
            "nickname": booking.nickname, "phone": booking.phone, "by_staff": booking.by_staff,
            "visit": booking.visit_id}


def _workshop_json(view) -> dict:  # type: ignore[no-untyped-def]
    w = view.workshop
    return {"id": w.id, "title": w.title, "description": w.description, "language": w.language,
            "level": w.level, "audience": w.audience, "starts": w.starts.isoformat(),
            "ends": view.ends.isoformat(), "minutes": w.minutes, "capacity": w.capacity,
            "places_left": view.places_left, "waiting": view.waiting, "room": w.room,
            "series": w.series or None, "mediator": w.mediator.display_name if w.mediator else None}


def _json_body(allowed: set[str]) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or set(data) - allowed:
        raise InvalidInput("body", N_("Expected a JSON object with the documented fields only."))
    return data


def _when(text: object) -> datetime:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput("starts", N_("Choose a time from the list.")) from None


@spec.route("/workshops", "GET", "Workshops to come, with places left and waitlist length.",
            {200: "The workshops.", 401: "No valid token."})
def api_workshops():  # type: ignore[no-untyped-def]
    return {"workshops": [_workshop_json(v) for v in upcoming_workshops(local_now(), limit=500)]}


@spec.route("/workshops", "POST", "Plan a workshop, or a weekly series with `weeks`.",
            {201: "The sessions made.", 400: "Bad input.", 401: "No valid token."}, body="NewWorkshop")
def api_new_workshop():  # type: ignore[no-untyped-def]
    try:
        data = _json_body(set(spec.schemas["NewWorkshop"]["properties"]))
        starts = _when(data.get("starts"))
        draft = WorkshopDraft(
            str(data.get("title", "")), str(data.get("description", "")), str(data.get("language", "")),
            str(data.get("level", "")), str(data.get("audience", "")), starts.date(), starts.time(),
            _int(data, "minutes"), _int(data, "capacity"),
            _int(data, "mediator") if data.get("mediator") is not None else None,
            str(data.get("room", "")), _int(data, "weeks", 1))
        made, skipped = create_workshops(draft, local_now())
    except InvalidInput as error:
        return render_error(400, translate(error))
    return {"made": [w.id for w in made], "skipped_closed_days": skipped}, 201


def _int(data: dict, key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(key, N_("A whole number is expected."))
    return value


@spec.route("/workshops/<int:workshop_id>/attendance", "GET", "A workshop's participants and waitlist.",
            {200: "The list.", 401: "No valid token.", 404: "No such workshop."})
def api_attendance(workshop_id: int):  # type: ignore[no-untyped-def]
    try:
        workshop = get_workshop(workshop_id)
    except NotFound:
        abort(404)
    places, waiting = attendance(workshop.id)
    now = local_now()
    return {"workshop": workshop.id, "places": [_booking_json(b, now) for b in places],
            "waiting": [_booking_json(b, now) for b in waiting]}


@spec.route("/bookings", "GET", "The bookings of one day (today by default), with their state.",
            {200: "The bookings.", 400: "Bad day.", 401: "No valid token."}, [DAY_PARAM])
def api_bookings():  # type: ignore[no-untyped-def]
    raw = request.args.get("day")
    try:
        shown = date.fromisoformat(raw) if raw else local_now().date()
    except ValueError:
        return render_error(400, "day must be a date like 2026-11-21")
    now = local_now()
    return {"day": shown.isoformat(),
            "bookings": [_booking_json(r.booking, now) for r in agenda(shown, shown, now, settings().booking)]}


@spec.route("/bookings", "POST", "Book a seat, a help appointment or a workshop place for a visitor.",
            {201: "The booking.", 400: "Bad input.", 401: "No valid token.",
             409: "Taken or full (the message says what is free)."}, body="NewBooking")
def api_book():  # type: ignore[no-untyped-def]
    now, config = local_now(), settings().booking
    try:
        data = _json_body(set(spec.schemas["NewBooking"]["properties"]))
        visitor = Visitor(str(data.get("nickname", "")), str(data.get("phone", "")), "fr")
        kind = data.get("kind")
        if kind == "workshop":
            booking = book_workshop(_int(data, "workshop"), visitor, now, data.get("waitlist") is True,
                                    by_staff=True)
        elif kind == "seat":
            booking = book_seat(_when(data.get("starts")), visitor, now, config,
                                str(data.get("feature", "")), by_staff=True)
        elif kind == "help":
            booking = book_help(_when(data.get("starts")), str(data.get("help_kind", "")), visitor, now,
                                config, by_staff=True)
        else:
            raise InvalidInput("kind", N_("Choose what to book."))
    except Unavailable as error:
        body, status = render_error(409, translate(error))
        if error.alternative is not None:
            body["next_free"] = error.alternative.starts.isoformat()
        return body, status
    except WorkshopFull as error:
        return render_error(409, translate(error))
    except InvalidInput as error:
        return render_error(400, translate(error))
    return _booking_json(booking, now), 201


@spec.route("/bookings/<int:booking_id>", "GET", "One booking.",
            {200: "The booking.", 401: "No valid token.", 404: "No such booking."})
def api_booking(booking_id: int):  # type: ignore[no-untyped-def]
    try:
        return _booking_json(get_booking(booking_id), local_now())
    except NotFound:
        abort(404)


@spec.route("/bookings/<int:booking_id>/cancel", "POST",
            "Cancel a booking; a freed workshop place goes to the first on the waitlist.",
            {200: "Cancelled.", 400: "Cannot be cancelled.", 401: "No valid token.", 404: "No such booking."})
def api_cancel(booking_id: int):  # type: ignore[no-untyped-def]
    try:
        promoted = cancel_booking(booking_id, local_now())
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    return {"cancelled": booking_id, "promoted": promoted.id if promoted else None}


@spec.route("/bookings/<int:booking_id>/check-in", "POST",
            "The visitor arrived: the booking becomes a visit, or joins a visit logged today.",
            {200: "Checked in.", 400: "Bad input.", 401: "No valid token.", 404: "No such booking."},
            body="CheckIn")
def api_check_in(booking_id: int):  # type: ignore[no-untyped-def]
    try:
        data = _json_body({"purpose", "attach_to"})
        attach = data.get("attach_to")
        booking = check_in(booking_id, str(data.get("purpose", "")), local_now(),
                           _int(data, "attach_to") if attach is not None else None)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        return render_error(400, translate(error))
    return _booking_json(booking, local_now())


bp.record_once(lambda state: state.app.register_blueprint(api_bp))
