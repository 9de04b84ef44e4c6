"""Error pages in the user's language (HTML), or JSON under /api/."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("appliance.web")


def _messages() -> dict[int, str]:
    return {
        400: _("Something in the request was not right. Go back and try again."),
        401: _("Sign in first."),
        403: _("Your account may not do this. Ask a coordinator."),
        404: _("This page does not exist."),
        405: _("This page cannot be used like this."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait a few minutes."),
        500: _("Something went wrong on the appliance. Try again; if it happens again, tell a coordinator."),
    }


def render_error(status: int, message: str | None = None):  # type: ignore[no-untyped-def]
    message = message or _messages().get(status, _messages()[400])
    if request.path.startswith("/api/"):
        return {"error": status, "message": message}, status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return render_error(
            400, _("The form had expired. Your input was not saved: go back, reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        response = render_error(code)
        if code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            body, status = response
            return body, status, {"Allow": ", ".join(error.valid_methods)}  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unexpected error on %s", request.url_rule.rule if request.url_rule else "?")
        return render_error(InternalServerError.code)
