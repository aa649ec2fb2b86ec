"""OCR library: text of PDFs and scanned images, page by page.

A pure library (no Flask, database or Celery): PDF text layers are read directly,
scanned pages and images are straightened (quarter turn, skew) and read by tesseract.
"""
from __future__ import annotations

from .errors import (
    CorruptDocumentError,
    DecompressionBombError,
    EmptyDocumentError,
    EncryptedDocumentError,
    OcrEngineError,
    OcrError,
    TooManyPagesError,
    UnsupportedMediaTypeError,
)
from .pipeline import DEFAULT_STEPS, MAX_PAGES, OcrJob, Pipeline, Step, count_pages, extract_text
from .results import OcrResult, PageText
from .sniff import SUPPORTED_MEDIA_TYPES, sniff_media_type
from .sources import MAX_PIXELS, PDFIUM_LOCK, ImageSource, PageSource, PdfSource, usable_text
from .tesseract import DEFAULT_LANGUAGES, tesseract_available

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_STEPS",
    "MAX_PAGES",
    "MAX_PIXELS",
    "PDFIUM_LOCK",
    "SUPPORTED_MEDIA_TYPES",
    "CorruptDocumentError",
    "DecompressionBombError",
    "EmptyDocumentError",
    "EncryptedDocumentError",
    "ImageSource",
    "OcrEngineError",
    "OcrError",
    "OcrJob",
    "OcrResult",
    "PageSource",
    "PageText",
    "PdfSource",
    "Pipeline",
    "Step",
    "TooManyPagesError",
    "UnsupportedMediaTypeError",
    "count_pages",
    "extract_text",
    "sniff_media_type",
    "tesseract_available",
    "usable_text",
]
