"""The web app factory: wires configuration, database, languages, CSRF and blueprints."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, g

from appliance.config import Config, load_config
from appliance.web.requestlog import init_request_log


# Each module defines `bp`; the factory imports them when it builds the app.
BLUEPRINT_MODULES = [
    "appliance.web.portal",
    "appliance.web.survey",
    "appliance.web.survey_staff",
    "appliance.web.auth",
    "appliance.web.desk",
    "appliance.web.schedule",
    "appliance.web.members",
    "appliance.web.booking",
    "appliance.web.booking_staff",
    "appliance.web.helpqueue",
    "appliance.web.helpqueue_staff",
    "appliance.web.helpqueue_api",
    "appliance.web.now",
    "appliance.web.printing",
    "appliance.web.printing_staff",
    "appliance.web.printing_api",
    "appliance.web.captive",
    "appliance.web.wifi_staff",
    "appliance.web.lending",
    "appliance.web.lending_api",
    "appliance.web.reports",
    "appliance.web.api",
]


def _resolve_config(config: Config | Mapping[str, Any] | None) -> Config:
    if isinstance(config, Config):
        return config
    options = dict(config or {})
    data_dir = options.get("DATA_DIR") or os.environ.get("EPN_DATA") or "data"
    return load_config(
        Path(data_dir), overrides=options.get("SETTINGS"), testing=bool(options.get("TESTING"))
    )


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the appliance's web app.

    `config` is a Config, or a mapping such as {"DATA_DIR": path, "TESTING": True,
    "SETTINGS": {"site": {"name": "..."}}}; by default the data directory is $EPN_DATA.
    """
    from appliance.db import database, init_database
    from appliance.registry import load_domains
    from appliance.taskqueue import bind_queue
    from appliance.web import errors, i18n, security

    settings = _resolve_config(config)
    app = Flask(__name__)
    app.config.update(
        TESTING=settings.testing,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="epn_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.server.tls,
        PERMANENT_SESSION_LIFETIME=settings.staff.session_hours * 3600,
        MAX_CONTENT_LENGTH=settings.server.max_upload_kb * 1024,
        # A desk page stays open all day: its form must still work hours later.
        WTF_CSRF_TIME_LIMIT=settings.staff.session_hours * 3600,
        WTF_CSRF_SSL_STRICT=settings.server.tls,
        PREFERRED_URL_SCHEME="https" if settings.server.tls else "http",
    )
    app.extensions["epn_config"] = settings
    init_database(settings.database_path)
    bind_queue(settings)
    load_domains()

    @app.before_request
    def open_database() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_database(exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)
    from appliance.web import setup as first_boot_setup

    app.register_blueprint(first_boot_setup.bp)
    first_boot_setup.init_app(app)  # while setup is pending, pages send to /setup/
    init_request_log(app, "appliance.web")

    _init_templates(app, settings)
    if not settings.testing:
        from appliance.setup.reload import reload_on_config_change

        # Every worker serves the settings the first-boot wizard (or anyone) writes.
        reload_on_config_change(app, lambda: create_app(load_config(settings.data_dir)))

    return app


def _init_templates(app: Flask, settings: Config) -> None:
    from appliance.web import labels

    def resolved(lazy: dict) -> dict:
        # Translate each label once per page, not once per table row.
        return {key: str(value) for key, value in lazy.items()}

    @app.context_processor
    def site_context() -> dict:
        return {
            "config_site_name": settings.site.name,
            "current_user": g.get("user"),
            "purpose_labels": resolved(labels.PURPOSE_LABELS),
            "purpose_icons": labels.PURPOSE_ICONS,
            "source_labels": resolved(labels.SOURCE_LABELS),
            "weekday_labels": [str(label) for label in labels.WEEKDAY_LABELS],
            "category_labels": resolved(labels.CATEGORY_LABELS),
            "service_labels": resolved(labels.SERVICE_LABELS),
        }

    from flask_babel import format_date, format_datetime

    app.add_template_filter(format_date, "format_date")
    app.add_template_filter(format_datetime, "format_datetime")
