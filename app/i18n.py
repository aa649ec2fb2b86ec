"""French and English for the pages: Flask-Babel with the locale the user chose, else Accept-Language."""
from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel

LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "en"
SESSION_KEY = "lang"

babel = Babel()


def select_locale() -> str:
    """The language stored in the session by the language switch, else the browser's best match."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def init_i18n(app: Flask) -> None:
    """Initialise Flask-Babel (catalogues in app/translations) and expose the language list to templates."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
