"""Guichet: BPMN-orchestrated front and back office for social security institutions."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import load_config


def create_app(config: dict[str, Any] | None = None, **overrides: Any) -> Flask:
    """Build the Flask application; no work happens at import time."""
    app = Flask(__name__)
    app.config.update(load_config({**(config or {}), **overrides}))
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    from app import models  # noqa: F401  (registers the tables)
    from app.db_setup import configure_engine_events
    from app.extensions import csrf, db, login, migrate
    from app.services import counters  # noqa: F401  (keeps counters in step with every flush)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)

    from app.i18n import init_i18n

    init_i18n(app)

    from app.errors import register_error_handlers

    register_error_handlers(app)

    from app.api import api_bp

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)

    from app.web import register_web

    register_web(app)

    from app.ops import ops_bp

    app.register_blueprint(ops_bp)

    from workers.celery_app import celery_init_app

    celery_init_app(app)
    return app
