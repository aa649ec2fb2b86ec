"""Business rules. Services flush; the request or Celery task that called them commits once."""
