"""French and English for the pages: Flask-Babel with the locale the user chose, else Accept-Language."""
from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Flask, request, session
from flask_babel import Babel

LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "en"
SESSION_KEY = "lang"

babel = Babel()


def _browser_locale() -> str | None:
    """The browser's preferred locale whose language Guichet speaks, with its region (en-GB dates
    are written day first), else None."""
    for tag, _quality in request.accept_languages:
        parts = tag.replace("-", "_").split("_")
        if parts[0].lower() not in LANGUAGES:
            continue
        try:
            return str(Locale.parse("_".join([parts[0].lower()] + [p.upper() for p in parts[1:2]])))
        except (ValueError, UnknownLocaleError):
            return parts[0].lower()
    return None


def select_locale() -> str:
    """The language stored in the session by the language switch, else the browser's best match."""
    chosen = session.get(SESSION_KEY)
    browser = _browser_locale()
    if chosen in LANGUAGES:
        # Keep the browser's region when it speaks the chosen language (date formats).
        return browser if browser and browser.split("_")[0] == chosen else str(chosen)
    return browser or DEFAULT_LANGUAGE


def current_language() -> str:
    """The two-letter language of this request (for <html lang> and the language switch)."""
    return select_locale().split("_")[0]


def init_i18n(app: Flask) -> None:
    """Initialise Flask-Babel (catalogues in app/translations) and expose the language list to templates."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
