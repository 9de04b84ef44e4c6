"""Forms (Flask-WTF: CSRF token, typed fields, translated messages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    SelectChoice,
    BooleanField,
    DateField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from appliance.desk.schedule import MAX_INTERVALS_PER_DAY, WEEKDAYS
from appliance.desk.visits import PURPOSES, SERVICES
from appliance.members import CATEGORIES
from appliance.web.labels import (
    CATEGORY_LABELS,
    LANGUAGE_LABELS,
    PURPOSE_LABELS,
    SERVICE_LABELS,
    WEEKDAY_LABELS,
)

REQUIRED = _l("This field is required.")


def choices(pairs) -> list[SelectChoice]:  # type: ignore[no-untyped-def]
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=200)])


def _services_field() -> MultiCheckboxField:
    return MultiCheckboxField(
        _l("What was used (optional)"),
        choices=choices((code, SERVICE_LABELS[code]) for code in SERVICES),
        validators=[Optional()],
    )


class LogVisitForm(FlaskForm):
    purpose = RadioField(
        _l("Why did the person come?"),
        choices=choices((code, PURPOSE_LABELS[code]) for code in PURPOSES),
        validators=[InputRequired(_l("Choose why the person came."))],
    )
    services = _services_field()


class EditVisitForm(LogVisitForm):
    hour = SelectField(
        _l("Hour"),
        choices=choices((str(h), f"{h:02d}:00") for h in range(24)),
        validators=[InputRequired(REQUIRED)],
    )


class ShiftForm(FlaskForm):
    weekday = SelectField(_l("Day"), coerce=int, choices=choices((d, WEEKDAY_LABELS[d]) for d in WEEKDAYS),
                          validators=[InputRequired(REQUIRED)])
    starts = TimeField(_l("From"), validators=[InputRequired(REQUIRED)])
    ends = TimeField(_l("To"), validators=[InputRequired(REQUIRED)])
    mediator = SelectField(_l("Mediator"), coerce=int, validators=[InputRequired(REQUIRED)])


class ClosureForm(FlaskForm):
    first_day = DateField(_l("First day"), validators=[InputRequired(REQUIRED)])
    last_day = DateField(_l("Last day"), validators=[InputRequired(REQUIRED)])
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=100)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])


class MemberForm(FlaskForm):
    display_name = StringField(_l("Name or nickname"), validators=[DataRequired(REQUIRED), Length(max=80)])
    contact = StringField(_l("Phone or e-mail (optional)"), validators=[Optional(), Length(max=120)])
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_LABELS.items()))
    category = SelectField(_l("Category"), choices=choices((c, CATEGORY_LABELS[c]) for c in CATEGORIES))


class NewMemberForm(MemberForm):
    terms_accepted = BooleanField(_l("The person accepted the terms of use"))
    id_seen = BooleanField(_l("I saw an identity document (its number is not recorded)"))


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("I confirm"), validators=[DataRequired(_l("Tick the box to confirm."))])


class EmptyForm(FlaskForm):
    """A button-only form: carries the CSRF token."""


def hours_form_class() -> type[FlaskForm]:
    """A form with, for each weekday, up to three periods (opens, closes)."""
    fields = {}
    for day in WEEKDAYS:
        for slot in range(MAX_INTERVALS_PER_DAY):
            fields[f"d{day}_{slot}_opens"] = TimeField(_l("Opens"), validators=[Optional()])
            fields[f"d{day}_{slot}_closes"] = TimeField(_l("Closes"), validators=[Optional()])
    return type("HoursForm", (FlaskForm,), fields)
