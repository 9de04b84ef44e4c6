"""The hub's web app factory: configuration, its own database, the API blueprint, JSON
errors and a request log. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, render_template, request
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from appliance.config import Config
from appliance.web.requestlog import init_request_log, route_pattern

log = logging.getLogger("appliance.federation.hub")


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_hub_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the hub's web app.

    `config` is a Config, or a mapping such as {"DATA_DIR": path, "TESTING": True,
    "SETTINGS": {"hub": {"name": "brussels"}}}; by default the data directory is $EPN_DATA.
    Tests may replace `app.extensions["hub_clock"]` (a callable returning aware UTC).
    """
    from appliance.federation.hub import api
    from appliance.federation.hub.db import database, engine, init_hub_database
    from appliance.federation.hub.web import WEB, csrf, init_web
    from appliance.web import _resolve_config

    settings = _resolve_config(config)
    # The pages share the appliance's stylesheet and icons.
    app = Flask(__name__, static_folder=str(WEB / "static"))
    app.config.update(
        TESTING=settings.testing,
        SECRET_KEY=settings.secret_key,
        # The report view checks the size itself, with its own answer; this covers the rest.
        MAX_CONTENT_LENGTH=settings.hub.max_report_kb * 1024,
    )
    app.extensions["epn_config"] = settings
    app.extensions["hub_clock"] = utc_now
    if settings.hub.behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # nginx on the same host, one hop: its X-Forwarded-* headers are trusted, no others.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    init_hub_database(settings)

    @app.before_request
    def open_database() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_database(exc: BaseException | None) -> None:
        # PostgreSQL: back to the pool. SQLite: kept open for the worker's life, because
        # closing the last connection checkpoints the write-ahead log and deletes it, which
        # cost ~20 ms a request, twenty times the ingest itself.
        if engine(database.obj) != "sqlite" and not database.is_closed():
            database.close()

    app.register_blueprint(api.bp)
    app.add_url_rule("/healthz", view_func=api.healthz)
    init_web(app)
    csrf.exempt(api.bp)  # appliances and scripts: signed reports and tokens, no cookies
    _init_errors(app)
    init_request_log(app, "appliance.federation.hub")
    return app


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _page_error(code: int):  # type: ignore[no-untyped-def]
    """An error page in the reader's language, for the dashboard's pages."""
    from flask_babel import gettext as _

    messages = {
        400: _("Something in the request was not right. Go back and try again."),
        403: _("Your account may not do this. Ask a coordinator."),
        404: _("This page does not exist."),
        405: _("This page cannot be used like this."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait a few minutes."),
        503: _("The hub is busy. Try again in a minute."),
    }
    message = messages.get(code, _("Something went wrong on the hub. Try again later."))
    return render_template("hub/error.html", status=code, message=message), code


def _init_errors(app: Flask) -> None:
    """Pages get an HTML page in the reader's language. The API's answers are JSON; a
    refusal carries its reason code (docs/protocol.md)."""
    from flask_wtf.csrf import CSRFError

    from appliance.federation.hub.errors import Refused

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return _page_error(400)

    @app.errorhandler(Refused)
    def refused(error: Refused):  # type: ignore[no-untyped-def]
        return {"status": "refused", **error.answer()}, error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if not _is_api():
            body, status = _page_error(code)
            allow = getattr(error, "valid_methods", None)
            return body, status, ({"Allow": ", ".join(allow)} if allow else {})
        reason = "too_large" if code == 413 else "http"
        headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
        status = "refused" if code < 500 else "error"
        return {"status": status, "error": code, "reason": reason, "message": error.name}, code, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_busy(error: Exception):  # type: ignore[no-untyped-def]
        # A locked or unreachable database: the appliance retries 5xx later, nothing lost.
        log.exception("database unavailable on %s", route_pattern())
        if not _is_api():
            body, status = _page_error(503)
            return body, status, {"Retry-After": "30"}
        answer = {"status": "error", "error": 503, "reason": "unavailable", "message": "the hub's database is busy"}
        return answer, 503, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unexpected error on %s", route_pattern())
        if not _is_api():
            return _page_error(500)
        return {"status": "error", "error": 500, "reason": "internal", "message": "unexpected error on the hub"}, 500
