"""Login and logout (session cookie with CSRF)."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.errors import AuthenticationError
from app.services import users as user_service

auth_bp = Blueprint("auth", __name__)


def home_for(role: str) -> str:
    """Where each role lands after login."""
    if role == "analyst":
        return "/modeler"
    if role in ("supervisor", "admin"):
        return "/monitor"
    return "/inbox"


@auth_bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        try:
            user = user_service.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except AuthenticationError as exc:
            error = exc.detail
        else:
            login_user(user)
            target = request.args.get("next", "")
            if not target or urlparse(target).netloc or not target.startswith("/"):
                target = home_for(user.role)
            return redirect(target)
    return render_template("login.html", error=error), 401 if error else 200


@auth_bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@auth_bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    return redirect(url_for("auth.login"))
