"""Small helpers shared by the views."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from appliance.config import Config
from appliance.errors import InvalidInput


def settings() -> Config:
    return current_app.extensions["epn_config"]


def local_now() -> datetime:
    """The appliance's local time (naive), or the test clock given to create_app."""
    clock = current_app.extensions.get("epn_clock")
    if clock is not None:
        return clock()
    return datetime.now(settings().tz).replace(tzinfo=None)


def translate(error: InvalidInput) -> str:
    return _(error.message, **error.params)


def attach_error(form: FlaskForm, error: InvalidInput, fallback: str | None = None) -> None:
    """Show a domain error beside the field it concerns (or the form's first field)."""
    message = translate(error)
    field = getattr(form, error.field, None) or (getattr(form, fallback) if fallback else None)
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = list(field.errors) + [message]
