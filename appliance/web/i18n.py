"""Languages: French (default), Dutch and English for staff; Arabic too for visitors."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import Babel

from appliance.config import LANGUAGES, VISITOR_LANGUAGES

COOKIE = "epn_lang"
RTL = {"ar"}
NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English", "ar": "العربية"}
VISITOR_BLUEPRINTS = {"portal", "survey", "printing", "captive"}
VISITOR_BLUEPRINTS |= {"helpqueue", "now"}  # the help queue and the entrance screen
VISITOR_BLUEPRINTS |= {"booking"}  # booking a seat, help or a workshop


def languages_here() -> tuple[str, ...]:
    """The languages offered on the current page."""
    return VISITOR_LANGUAGES if request.blueprint in VISITOR_BLUEPRINTS else LANGUAGES


def select_locale() -> str:
    offered = languages_here()
    chosen = request.cookies.get(COOKIE)
    if chosen in offered:
        return chosen
    best = request.accept_languages.best_match(offered)
    return best or current_app.extensions["epn_config"].site.default_language


def text_direction(locale: str) -> str:
    return "rtl" if locale in RTL else "ltr"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.context_processor
    def language_context() -> dict:
        from flask_babel import get_locale

        locale = str(get_locale() or "fr")
        return {
            "lang": locale,
            "text_dir": text_direction(locale),
            "offered_languages": [(code, NAMES[code]) for code in languages_here()],
        }
