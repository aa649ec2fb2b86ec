"""Server-rendered pages, one blueprint per area."""
from __future__ import annotations

from flask import Flask

from app.extensions import db, login
from app.models import User


@login.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def register_web(app: Flask) -> None:
    """Register the page blueprints and the helpers their templates share."""
    from flask_babel import lazy_gettext

    from app.web.auth import auth_bp
    from app.web.common import register_page_helpers
    from app.web.docs import docs_bp
    from app.web.inbox import inbox_bp
    from app.web.modeler import modeler_bp
    from app.web.monitor import monitor_bp

    login.login_view = "auth.login"
    login.login_message = lazy_gettext("Please sign in to open this page.")
    register_page_helpers(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    for blueprint in (auth_bp, docs_bp, inbox_bp, modeler_bp, monitor_bp):
        app.register_blueprint(blueprint)
    from app.web.verify import verify_bp  # public certificate check, no sign-in

    app.register_blueprint(verify_bp)
