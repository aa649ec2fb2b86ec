"""WSGI entry point for gunicorn: `gunicorn app.wsgi:application`."""
from app import create_app

application = create_app()

# Intake checks every file with the OCR library (media type, PDF structure, page count); its
# package brings numpy, Pillow and pdfium, ~0.1-0.4 s of CPU to import. Each worker process
# pays that once at boot here, not while the first document filed to it waits.
import workers.ocr  # noqa: F401
