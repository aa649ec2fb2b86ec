"""Entry point for `celery -A workers.worker worker`: builds the Flask app and exposes its Celery app."""
from __future__ import annotations

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
