"""Server-rendered pages, one blueprint per area."""
from __future__ import annotations

from flask import Flask

from app.extensions import db, login
from app.models import User


@login.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def register_web(app: Flask) -> None:
    """Register the page blueprints."""
    from app.web.auth import auth_bp
    from app.web.docs import docs_bp

    login.login_view = "auth.login"
    app.register_blueprint(auth_bp)
    app.register_blueprint(docs_bp)
