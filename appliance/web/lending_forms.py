"""Forms and translated labels of the laptop-thèque's staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from appliance.lending.inventory import CONDITIONS, KINDS
from appliance.lending.loans import LOAN_KINDS
from appliance.lending.maintenance import RECORD_KINDS
from appliance.members import CATEGORIES
from appliance.web.forms import REQUIRED, MultiCheckboxField, choices
from appliance.web.labels import CATEGORY_LABELS, LANGUAGE_LABELS

KIND_LABELS = {
    "laptop": _l("Laptop"),
    "chromebook": _l("Chromebook"),
    "tablet": _l("Tablet"),
    "eid_reader": _l("e-ID card reader"),
    "braille_keyboard": _l("Braille keyboard"),
    "ergonomic_mouse": _l("Ergonomic mouse"),
    "headset": _l("Headset"),
    "router_4g": _l("4G router"),
    "other": _l("Other device"),
}
STATUS_LABELS = {
    "available": _l("Available"),
    "on_loan": _l("On loan"),
    "reserved": _l("Reserved"),
    "to_reset": _l("Waiting for its reset"),
    "maintenance": _l("In maintenance"),
    "lost": _l("Lost"),
    "retired": _l("Retired"),
}
CONDITION_LABELS = {
    "new": _l("Like new"),
    "good": _l("Good"),
    "worn": _l("Worn"),
    "damaged": _l("Damaged"),
}
LOAN_KIND_LABELS = {
    "home": _l("To take home"),
    "onsite": _l("Inside the EPN (a few hours)"),
    "group": _l("Group loan to a partner organisation"),
}
LOAN_STATE_LABELS = {"open": _l("In progress"), "returned": _l("Returned"), "lost": _l("Lost")}
ACCESSORY_LABELS = {
    "charger": _l("Charger"),
    "sleeve": _l("Sleeve"),
    "mouse": _l("Mouse"),
    "headset": _l("Headset"),
    "cable": _l("Cable"),
    "stylus": _l("Stylus"),
    "sim": _l("SIM card"),
}
RECORD_LABELS = {
    "repair": _l("Repair"),
    "reinstall": _l("Reinstall"),
    "battery": _l("Battery replaced"),
    "damage": _l("Damage"),
    "missing": _l("Missing accessory"),
    "loss": _l("Loss"),
    "check": _l("Check"),
    "other": _l("Other"),
}
WIPED = _l("Device wiped, or the borrower's user profile removed")
SIGNED_OUT = _l("Browser sessions and accounts signed out")


def accessory_label(code: str) -> str:
    return str(ACCESSORY_LABELS.get(code, code))


class ScanForm(FlaskForm):
    """The tag field a USB barcode reader types into (a GET form: no token needed)."""

    class Meta:
        csrf = False

    tag = StringField(_l("Device tag"), validators=[InputRequired(REQUIRED), Length(max=200)])


class CheckoutForm(FlaskForm):
    borrower = StringField(_l("Member card or name"), validators=[Optional(), Length(max=80)])
    member_id = RadioField(
        _l("Who borrows?"), validators=[Optional()], choices=[], validate_choice=False
    )
    new_name = StringField(_l("Name or nickname"), validators=[Optional(), Length(max=80)])
    new_contact = StringField(
        _l("Phone or e-mail (optional)"), validators=[Optional(), Length(max=120)]
    )
    # Checked by the domain when a new borrower is registered (left out otherwise).
    new_language = SelectField(
        _l("Language"), choices=choices(LANGUAGE_LABELS.items()), validate_choice=False
    )
    new_category = SelectField(
        _l("Category"),
        choices=choices((c, CATEGORY_LABELS[c]) for c in CATEGORIES),
        validate_choice=False,
    )
    id_seen = BooleanField(_l("I saw an identity document (its number is not recorded)"))
    loan_kind = RadioField(
        _l("Kind of loan"),
        default="home",
        choices=choices((k, LOAN_KIND_LABELS[k]) for k in LOAN_KINDS),
        validators=[InputRequired(REQUIRED)],
    )
    due_day = DateField(_l("Due date (optional: by the rules otherwise)"), validators=[Optional()])
    accept_terms = BooleanField(_l("The borrower read and accepted the lending terms"))
    deposit = BooleanField(_l("Deposit received"))


class CheckinForm(FlaskForm):
    accessories = MultiCheckboxField(
        _l("Accessories brought back"), choices=[], validators=[Optional()], validate_choice=False
    )
    condition = RadioField(
        _l("Condition"),
        default="good",
        choices=choices((c, CONDITION_LABELS[c]) for c in CONDITIONS),
        validators=[InputRequired(REQUIRED)],
    )
    notes = TextAreaField(
        _l("Notes (about the device only)"), validators=[Optional(), Length(max=300)]
    )
    damaged = BooleanField(_l("Damaged: open a maintenance record"))
    wiped = BooleanField(WIPED)
    signed_out = BooleanField(SIGNED_OUT)


class ResetForm(FlaskForm):
    wiped = BooleanField(WIPED)
    signed_out = BooleanField(SIGNED_OUT)


class MaintenanceForm(FlaskForm):
    kind = SelectField(_l("What"), choices=choices((k, RECORD_LABELS[k]) for k in RECORD_KINDS))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    keep_open = BooleanField(_l("Keep the device out of lending until this is closed"))


class ReservationForm(FlaskForm):
    borrower = StringField(
        _l("Member card or name"), validators=[InputRequired(REQUIRED), Length(max=80)]
    )
    kind = SelectField(_l("Kind of device"), choices=choices((k, KIND_LABELS[k]) for k in KINDS))
    tag = StringField(
        _l("A given device (tag, optional)"), validators=[Optional(), Length(max=200)]
    )
    for_day = DateField(_l("For the day (empty: the waiting list)"), validators=[Optional()])


class DeviceForm(FlaskForm):
    tag = StringField(_l("Tag"), validators=[InputRequired(REQUIRED), Length(max=20)])
    kind = SelectField(_l("Kind of device"), choices=choices((k, KIND_LABELS[k]) for k in KINDS))
    model = StringField(_l("Model"), validators=[Optional(), Length(max=80)])
    serial = StringField(_l("Serial number"), validators=[Optional(), Length(max=60)])
    accessories = StringField(
        _l("Accessories (separated by |, e.g. charger|sleeve)"),
        validators=[Optional(), Length(max=200)],
    )
    funding = StringField(_l("Funded by"), validators=[Optional(), Length(max=80)])
    owner = StringField(
        _l("Owner until it passes to the EPN (empty: the EPN)"),
        validators=[Optional(), Length(max=80)],
    )
    acquired_on = DateField(_l("Bought on"), validators=[Optional()])
    owned_from = DateField(_l("The EPN's property from"), validators=[Optional()])
    condition = SelectField(
        _l("Condition"), choices=choices((c, CONDITION_LABELS[c]) for c in CONDITIONS)
    )
    notes = StringField(_l("Notes"), validators=[Optional(), Length(max=300)])


class TermsForm(FlaskForm):
    language = HiddenField()
    text = TextAreaField(_l("Lending terms"), validators=[Optional(), Length(max=6000)])


class AuditScanForm(FlaskForm):
    tag = StringField(_l("Device tag"), validators=[InputRequired(REQUIRED), Length(max=200)])
