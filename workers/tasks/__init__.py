"""Celery tasks: thin, ids in, call a service, commit once."""
