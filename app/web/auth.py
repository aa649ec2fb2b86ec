"""Login and logout (session cookie with CSRF), the language switch, and the landing redirect."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.errors import AuthenticationError
from app.i18n import LANGUAGES, SESSION_KEY
from app.services import users as user_service

auth_bp = Blueprint("auth", __name__)


def home_for(role: str) -> str:
    """Where each role lands after login."""
    if role == "analyst":
        return "/modeler"
    if role in ("supervisor", "admin"):
        return "/monitor"
    return "/inbox"


def safe_target(target: str | None, default: str) -> str:
    """A local path to go back to; anything pointing elsewhere falls back to the default."""
    if not target or urlparse(target).netloc or urlparse(target).scheme or not target.startswith("/") \
            or target.startswith("//"):
        return default
    return target


@auth_bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        try:
            user = user_service.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except AuthenticationError:
            error = _("Invalid username or password.")
        else:
            login_user(user)
            return redirect(safe_target(request.args.get("next"), home_for(user.role)))
    return render_template("login.html", error=error), 401 if error else 200


@auth_bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@auth_bp.post("/lang")
def set_language():  # type: ignore[no-untyped-def]
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session[SESSION_KEY] = lang
    return redirect(safe_target(request.form.get("next"), "/"))


@auth_bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    return redirect(url_for("auth.login"))
