"""The hub's pages for the regional coordination: sign-in, the dashboard, the public page
of published figures, the administration. Server-rendered, FR/NL/EN, no JavaScript.

`init_web(app)` adds what every page needs (languages, CSRF, the signed-in account,
security headers, HTML error pages) and registers the page blueprints; the JSON API
keeps its own answers (see app.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader

import appliance.web
from appliance.config import LANGUAGES

HERE = Path(__file__).resolve().parent.parent
WEB = Path(appliance.web.__file__).resolve().parent
COOKIE = "hub_lang"
NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English"}
# The page blueprints, in menu order; each module has `bp`.
PAGE_MODULES = [
    "appliance.federation.hub.web.auth",
    "appliance.federation.hub.web.dashboard",
    "appliance.federation.hub.web.epns_pages",
    "appliance.federation.hub.web.admin",
]
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
csrf = CSRFProtect()


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def init_web(app: Flask) -> None:
    settings = app.extensions["epn_config"]
    app.config.update(
        SESSION_COOKIE_NAME="hub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.hub.tls,
        PERMANENT_SESSION_LIFETIME=settings.hub.session_hours * 3600,
        WTF_CSRF_TIME_LIMIT=settings.hub.session_hours * 3600,
        WTF_CSRF_SSL_STRICT=settings.hub.tls,
        PREFERRED_URL_SCHEME="https" if settings.hub.tls else "http",
    )
    # The hub's own templates first, then the appliance's (macros.html, icons).
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(HERE / "templates")),
                                     FileSystemLoader(str(WEB / "templates"))])
    Babel(app, locale_selector=select_locale, default_translation_directories=str(WEB / "translations"))
    csrf.init_app(app)
    app.before_request(_load_account)
    app.after_request(_headers)
    app.add_url_rule("/lang/<code>", "choose_language", choose_language)

    from flask_babel import format_date, format_datetime, get_locale

    app.add_template_filter(format_date, "format_date")
    app.add_template_filter(format_datetime, "format_datetime")

    @app.context_processor
    def page_context() -> dict:
        locale = str(get_locale() or "fr")
        return {"lang": locale, "text_dir": "ltr", "hub_name": settings.hub.name,
                "current_account": g.get("account"),
                "offered_languages": [(code, NAMES[code]) for code in LANGUAGES]}

    for module in PAGE_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)


def choose_language(code: str):  # type: ignore[no-untyped-def]
    """Remember the language chosen (a cookie) and go back to the page."""
    from appliance.web.security import safe_next

    response = redirect(safe_next(request.args.get("next"), "/"))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=current_app.extensions["epn_config"].hub.tls)
    return response


def _load_account() -> None:
    from appliance.federation.hub.accounts import HubAccount

    g.account = None
    account_id = session.get("account_id")
    if account_id is None or request.path.startswith("/api/"):
        return
    account = HubAccount.get_or_none((HubAccount.id == account_id) & HubAccount.active)
    if account is None or account.session_epoch != session.get("epoch"):
        session.clear()
        return
    g.account = account


def _headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if g.get("account") is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def login_required(view: Callable) -> Callable:
    """The page needs a signed-in account; others go to the sign-in page."""

    @wraps(view)
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        if g.get("account") is None:
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("hub_auth.login", next=target))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    """The page needs an admin account; a coordinator gets 403 with an explanation."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        if g.account.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped
