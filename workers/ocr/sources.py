"""Open a document once, check it, and hand out its pages: text layer or image.

Both sources refuse bad input with an OcrError before any page is read: encrypted or
broken PDFs, images claiming more pixels than the limit (checked from the header,
before any pixel is decoded).
"""
from __future__ import annotations

import io
import logging
import math
import re
import threading
import warnings
from typing import Any, Protocol

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import (
    CorruptDocumentError,
    DecompressionBombError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedMediaTypeError,
)
from .sniff import JPEG, PDF, PNG, TIFF

log = logging.getLogger(__name__)

MAX_PIXELS = 100_000_000  # 100 megapixels: an A4 page at 1200 dpi is 140; at 600, 35
RASTER_DPI = 300
# A text layer with fewer visible characters than this is no text layer (a page number,
# a stamp): the page is read by OCR instead.
MIN_TEXT_CHARS = 32
# A page mostly covered by an image, with little text, is a scan with a caption: OCR it.
SCAN_COVERAGE = 0.5
SCAN_MAX_TEXT_CHARS = 200
# A PDF whose end-of-file marker is missing from its tail was cut short in transit.
EOF_WINDOW = 1024 * 1024
_CID = re.compile(r"\(cid:\d+\)")
# PDFium is not thread-safe: every call into it holds this lock, so threads of one process
# (a threaded web server counting pages at intake) can share the library.
PDFIUM_LOCK = threading.RLock()


class PageSource(Protocol):
    """A document opened for reading, page by page (0-based indexes)."""

    media_type: str
    page_count: int

    def text_layer(self, index: int) -> str | None:
        """The page's own text when it is usable, else None (read the image instead)."""
        ...

    def page_image(self, index: int) -> tuple[Image.Image, int | None]:
        """The page as an image with its resolution in dpi when known."""
        ...

    def close(self) -> None:
        """Release the document."""
        ...


def usable_text(text: str | None, coverage: float = 0.0) -> bool:
    """Whether a text layer is worth keeping instead of running OCR on the page."""
    if not text:
        return False
    visible = sum(1 for c in _CID.sub("", text) if not c.isspace())
    if visible < MIN_TEXT_CHARS:
        return False
    # Fonts without a Unicode map give "(cid:12)" (pdfminer) or replacement and control
    # characters (pdfium): such a layer cannot be searched.
    cids = len(_CID.findall(text))
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t\f"))
    if cids > visible * 0.1 or bad > visible * 0.1:
        return False
    letters = sum(1 for c in text if c.isalnum())
    if letters < visible * 0.5:
        return False
    return not (coverage >= SCAN_COVERAGE and visible < SCAN_MAX_TEXT_CHARS)


class PdfSource:
    """A PDF: pdfium renders pages; the text layer comes from pdfium or pdfplumber."""

    media_type = PDF

    def __init__(self, data: bytes, *, max_pixels: int = MAX_PIXELS, text_layer: str = "pdfium") -> None:
        if text_layer not in ("pdfium", "pdfplumber"):
            raise ValueError(f"unknown text layer reader {text_layer!r}")
        self._data = data
        self._max_pixels = max_pixels
        self._reader = text_layer
        self._plumber: Any = None
        # rfind from the window's start: no copy of the window, and the marker is met at once
        # (a slice and `in` scanned the whole megabyte from its start: ~0.5 ms a file).
        if data.rfind(b"%%EOF", max(0, len(data) - EOF_WINDOW)) < 0:
            raise CorruptDocumentError("truncated PDF: no end-of-file marker")
        try:
            with PDFIUM_LOCK:
                self._pdf = pdfium.PdfDocument(data)
                self.page_count = len(self._pdf)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise EncryptedDocumentError("PDF is protected by a password") from None
            raise CorruptDocumentError(f"unreadable PDF: {_pdfium_reason(exc)}") from None
        if self.page_count == 0:
            self.close()
            raise EmptyDocumentError("PDF has no pages")

    def text_layer(self, index: int) -> str | None:
        """Text of the page from its text layer, or None when it has none worth using."""
        try:
            if self._reader == "pdfplumber":
                text, coverage = self._plumber_text(index)
            else:
                with PDFIUM_LOCK:
                    text, coverage = self._pdfium_text(index)
        except EncryptedDocumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken text layer is read by OCR instead
            log.info("text layer of page %d unreadable (%s): using OCR", index + 1, type(exc).__name__)
            return None
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        return text if usable_text(text, coverage) else None

    def _pdfium_text(self, index: int) -> tuple[str, float]:
        page = self._pdf[index]
        try:
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
            width, height = page.get_size()
            area = 0.0
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
                left, bottom, right, top = obj.get_pos()
                area += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
            coverage = area / (width * height) if width > 0 and height > 0 else 0.0
        finally:
            page.close()
        return text, coverage

    def _plumber_text(self, index: int) -> tuple[str, float]:
        if self._plumber is None:
            import pdfplumber
            from pdfplumber.utils.exceptions import PdfminerException

            try:
                self._plumber = pdfplumber.open(io.BytesIO(self._data))
            except PdfminerException as exc:
                if "password" in repr(exc).lower():
                    raise EncryptedDocumentError("PDF is protected by a password") from None
                raise
        page = self._plumber.pages[index]
        try:
            text = page.extract_text() or ""
            width, height = float(page.width), float(page.height)
            area = sum(
                max(0.0, min(float(img["x1"]), width) - max(float(img["x0"]), 0.0))
                * max(0.0, min(float(img["bottom"]), height) - max(float(img["top"]), 0.0))
                for img in page.images
            )
            coverage = area / (width * height) if width > 0 and height > 0 else 0.0
        finally:
            page.close()
        return text, coverage

    def page_image(self, index: int) -> tuple[Image.Image, int | None]:
        """Render the page at RASTER_DPI (less for huge pages, to stay under max_pixels)."""
        with PDFIUM_LOCK:
            return self._render(index)

    def _render(self, index: int) -> tuple[Image.Image, int | None]:
        try:
            page = self._pdf[index]
        except pdfium.PdfiumError as exc:
            raise CorruptDocumentError(f"page {index + 1} unreadable: {_pdfium_reason(exc)}") from None
        try:
            width, height = page.get_size()  # points, 1/72 inch
            if not (width > 0 and height > 0):
                raise CorruptDocumentError(f"page {index + 1} has no size")
            scale = RASTER_DPI / 72.0
            if width * height * scale * scale > self._max_pixels:
                # An oversized page (posters, or a MediaBox meant to exhaust memory) is
                # rendered at a lower resolution rather than refused.
                scale = math.sqrt(self._max_pixels / (width * height)) * 0.999
            bitmap = page.render(scale=scale, grayscale=True, draw_annots=True)
            image = bitmap.to_pil()
            if image.mode != "L":
                image = image.convert("L")
            else:
                image = image.copy()  # detach from the pdfium buffer
            bitmap.close()
        except pdfium.PdfiumError as exc:
            raise CorruptDocumentError(f"page {index + 1} cannot be rendered: {_pdfium_reason(exc)}") from None
        finally:
            page.close()
        return image, round(72 * scale)

    def close(self) -> None:
        """Close pdfium and pdfplumber handles."""
        if self._plumber is not None:
            self._plumber.close()
            self._plumber = None
        pdf = getattr(self, "_pdf", None)
        if pdf is not None:
            with PDFIUM_LOCK:
                pdf.close()
            self._pdf = None


class ImageSource:
    """A PNG, JPEG or TIFF (every frame of a multi-page TIFF is a page)."""

    def __init__(self, data: bytes, media_type: str, *, max_pixels: int = MAX_PIXELS) -> None:
        if media_type not in (PNG, JPEG, TIFF):
            raise UnsupportedMediaTypeError(f"not an image type: {media_type}")
        self.media_type = media_type
        self._max_pixels = max_pixels
        self._image = open_image(data, max_pixels)
        try:
            # Only TIFF pages count: an animated PNG is one page (its first frame).
            self.page_count = _frame_count(self._image) if media_type == TIFF else 1
        except CorruptDocumentError:
            self._image.close()
            raise

    def text_layer(self, index: int) -> str | None:
        """Images have no text layer."""
        return None

    def page_image(self, index: int) -> tuple[Image.Image, int | None]:
        """Decode one frame (its size is checked first)."""
        image = self._image
        try:
            if self.page_count > 1:
                image.seek(index)
            check_pixels(image.size, self._max_pixels)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
                # Phones and some scanners store the turn in EXIF instead of the pixels.
                frame = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            raise CorruptDocumentError(f"image page {index + 1} cannot be decoded: {exc}") from None
        return frame, _dpi(image)

    def close(self) -> None:
        """Close the image file."""
        self._image.close()


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image lazily (header only) and refuse it when it claims too many pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise DecompressionBombError(
            f"image claims more than {max_pixels} pixels; refused before decoding"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptDocumentError(f"image cannot be identified: {exc}") from None
    try:
        check_pixels(image.size, max_pixels)
    except DecompressionBombError:
        image.close()
        raise
    return image


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Raise DecompressionBombError when width x height exceeds max_pixels (or is zero)."""
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptDocumentError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise DecompressionBombError(
            f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels; refused before decoding"
        )


def _frame_count(image: Image.Image) -> int:
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptDocumentError(f"TIFF pages cannot be counted: {exc}") from None


def _dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0]))  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    return value if 70 <= value <= 2400 else None


def _pdfium_reason(exc: Exception) -> str:
    # "Failed to load document (PDFium: Data format error)." -> "Data format error"
    match = re.search(r"PDFium: ([^)]*)", str(exc))
    return match.group(1) if match else str(exc)
