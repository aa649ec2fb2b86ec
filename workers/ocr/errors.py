"""Errors of the OCR pipeline. Each carries a short machine code and a readable reason.

`permanent` tells the caller whether retrying can help: bad input never gets better,
a missing or crashing tesseract might.
"""
from __future__ import annotations


class OcrError(Exception):
    """Base class: the document could not be read."""

    code = "ocr_failed"
    permanent = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedMediaTypeError(OcrError):
    """The bytes are not a PDF, PNG, JPEG or TIFF (whatever the file name says)."""

    code = "unsupported_media_type"


class EncryptedDocumentError(OcrError):
    """The PDF needs a password to be opened."""

    code = "encrypted_document"


class CorruptDocumentError(OcrError):
    """The file is truncated or broken and cannot be decoded."""

    code = "corrupt_document"


class DecompressionBombError(OcrError):
    """The image claims more pixels than the limit; refused before decoding."""

    code = "decompression_bomb"


class EmptyDocumentError(OcrError):
    """Zero bytes, or a document without pages."""

    code = "empty_document"


class TooManyPagesError(OcrError):
    """The document has more pages than the pipeline accepts."""

    code = "too_many_pages"


class OcrEngineError(OcrError):
    """Tesseract is missing, failed or timed out; retrying may help."""

    code = "ocr_engine_failed"
    permanent = False
