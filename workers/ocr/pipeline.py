"""The OCR pipeline: small steps sharing one job, each with a cleanup.

Contract of a step (in the spirit of paperless-ngx's consume plugins):
- ``able_to_run(job)`` says whether the step applies to this job (no side effects);
- ``run(job)`` does the work, reading and filling fields of the job, and raises an
  OcrError subclass for bad input;
- ``cleanup(job)`` releases what ``run`` acquired. It is called, in reverse order, for
  every step whose ``run`` was entered, whether the pipeline succeeded or failed.

The default steps: check the input (size, sniffed type), open the document (refusing
encrypted, corrupt and oversized input), give the job a scratch directory, read the
pages (text layer first, OCR of the straightened page image otherwise).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Union

from .errors import EmptyDocumentError, OcrError, TooManyPagesError, UnsupportedMediaTypeError
from .page import read_image
from .results import OcrResult, PageText
from .sniff import PDF, SNIFF_BYTES, SUPPORTED_MEDIA_TYPES, sniff_media_type
from .sources import MAX_PIXELS, ImageSource, PageSource, PdfSource
from .tesseract import DEFAULT_LANGUAGES, DEFAULT_PAGE_TIMEOUT, check_languages

log = logging.getLogger(__name__)

MAX_PAGES = 1000
Data = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


@dataclass
class OcrJob:
    """Everything the steps share: the input, the options, and what steps produce."""

    data: bytes
    declared_media_type: str | None = None
    languages: str = DEFAULT_LANGUAGES
    page_numbers: frozenset[int] | None = None  # 1-based; None: every page
    text_layer: str = "pdfium"
    max_pixels: int = MAX_PIXELS
    max_pages: int = MAX_PAGES
    page_timeout: int = DEFAULT_PAGE_TIMEOUT
    # Filled in by the steps.
    media_type: str | None = None
    source: PageSource | None = None
    workdir: Path | None = None
    pages: list[PageText] = field(default_factory=list)


class Step(Protocol):
    """One stage of the pipeline (see the module docstring for the contract)."""

    name: str

    def able_to_run(self, job: OcrJob) -> bool: ...

    def run(self, job: OcrJob) -> None: ...

    def cleanup(self, job: OcrJob) -> None: ...


class CheckInput:
    """Refuse empty input; take the media type from the bytes, not from the caller."""

    name = "check_input"

    def able_to_run(self, job: OcrJob) -> bool:
        return True

    def run(self, job: OcrJob) -> None:
        if not job.data:
            raise EmptyDocumentError("document is empty (0 bytes)")
        sniffed = sniff_media_type(job.data[:SNIFF_BYTES])
        if sniffed is None:
            declared = f" (declared {job.declared_media_type})" if job.declared_media_type else ""
            raise UnsupportedMediaTypeError(f"not a PDF, PNG, JPEG or TIFF file{declared}")
        if job.declared_media_type and job.declared_media_type != sniffed:
            log.info("declared type %s but content is %s: using the content", job.declared_media_type, sniffed)
        job.media_type = sniffed

    def cleanup(self, job: OcrJob) -> None:
        pass


class OpenDocument:
    """Open the document once; refuses encrypted, corrupt, bomb and too-long documents."""

    name = "open_document"

    def able_to_run(self, job: OcrJob) -> bool:
        return job.media_type in SUPPORTED_MEDIA_TYPES

    def run(self, job: OcrJob) -> None:
        assert job.media_type is not None
        if job.media_type == PDF:
            job.source = PdfSource(job.data, max_pixels=job.max_pixels, text_layer=job.text_layer)
        else:
            job.source = ImageSource(job.data, job.media_type, max_pixels=job.max_pixels)
        if job.source.page_count > job.max_pages:
            raise TooManyPagesError(f"{job.source.page_count} pages, more than the limit of {job.max_pages}")

    def cleanup(self, job: OcrJob) -> None:
        if job.source is not None:
            job.source.close()
            job.source = None


class ScratchDirectory:
    """A private directory for the page images handed to tesseract."""

    name = "scratch_directory"

    def able_to_run(self, job: OcrJob) -> bool:
        return job.source is not None

    def run(self, job: OcrJob) -> None:
        job.workdir = Path(tempfile.mkdtemp(prefix="guichet-ocr-"))

    def cleanup(self, job: OcrJob) -> None:
        if job.workdir is not None:
            shutil.rmtree(job.workdir, ignore_errors=True)
            job.workdir = None


class ReadPages:
    """Per page: the text layer when usable, else OCR of the straightened page image."""

    name = "read_pages"

    def able_to_run(self, job: OcrJob) -> bool:
        return job.source is not None and job.workdir is not None

    def run(self, job: OcrJob) -> None:
        assert job.source is not None and job.workdir is not None
        for index in range(job.source.page_count):
            number = index + 1
            if job.page_numbers is not None and number not in job.page_numbers:
                continue
            job.pages.append(self.read_page(job, index))

    def read_page(self, job: OcrJob, index: int) -> PageText:
        """Read one page (0-based index)."""
        assert job.source is not None and job.workdir is not None
        started = time.perf_counter()
        text = job.source.text_layer(index)
        if text is not None:
            page = PageText(number=index + 1, text=text, confidence=100.0, method="text_layer")
        else:
            image, dpi = job.source.page_image(index)
            try:
                reading = read_image(
                    image, languages=job.languages, workdir=job.workdir, dpi=dpi, timeout=job.page_timeout
                )
            finally:
                image.close()
            page = PageText(
                number=index + 1,
                text=reading.text,
                confidence=reading.confidence,
                method="tesseract",
                rotation=reading.rotation,
                skew=reading.skew,
            )
        log.debug(
            "page %d read by %s in %.0f ms (confidence %.1f, rotation %d, skew %.1f)",
            page.number, page.method, (time.perf_counter() - started) * 1000,
            page.confidence, page.rotation, page.skew,
        )
        return page

    def cleanup(self, job: OcrJob) -> None:
        pass


DEFAULT_STEPS: tuple[Step, ...] = (CheckInput(), OpenDocument(), ScratchDirectory(), ReadPages())


class Pipeline:
    """Runs steps in order; cleans up every entered step, last first, even on failure."""

    def __init__(self, steps: Sequence[Step] = DEFAULT_STEPS) -> None:
        self.steps = tuple(steps)

    def run(self, job: OcrJob) -> OcrResult:
        """Run the steps on the job and return its pages."""
        entered: list[Step] = []
        try:
            for step in self.steps:
                if not step.able_to_run(job):
                    continue
                entered.append(step)
                step.run(job)
        finally:
            for step in reversed(entered):
                try:
                    step.cleanup(job)
                except Exception:  # a cleanup must not hide the real error
                    log.exception("cleanup of step %s failed", step.name)
        return OcrResult(pages=list(job.pages), media_type=job.media_type or "")


def load_bytes(data: Data) -> bytes:
    """Bytes of the input, read from disk when given a path."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, (str, os.PathLike)):
        try:
            return Path(data).read_bytes()
        except IsADirectoryError:
            raise UnsupportedMediaTypeError("a directory is not a document") from None
    raise TypeError(f"expected bytes or a path, got {type(data).__name__}")


def extract_text(
    data: Data,
    media_type: str | None = None,
    languages: str = DEFAULT_LANGUAGES,
    *,
    pages: Iterable[int] | None = None,
    text_layer: str = "pdfium",
    max_pixels: int = MAX_PIXELS,
    max_pages: int = MAX_PAGES,
    page_timeout: int = DEFAULT_PAGE_TIMEOUT,
) -> OcrResult:
    """Text of a PDF, PNG, JPEG or TIFF, page by page.

    media_type is only a hint: the type is sniffed from the bytes. pages (1-based) limits
    the work to some pages, so a caller can spread one document over several workers.
    text_layer picks the PDF text-layer reader, "pdfium" (fast) or "pdfplumber".
    Raises an OcrError subclass for input that cannot be read.
    """
    check_languages(languages)
    job = OcrJob(
        data=load_bytes(data),
        declared_media_type=media_type,
        languages=languages,
        page_numbers=frozenset(pages) if pages is not None else None,
        text_layer=text_layer,
        max_pixels=max_pixels,
        max_pages=max_pages,
        page_timeout=page_timeout,
    )
    return Pipeline().run(job)


def count_pages(data: Data, media_type: str | None = None) -> int | None:
    """Number of pages, cheaply (no rendering, no OCR); None when it cannot be told."""
    try:
        raw = load_bytes(data)
        sniffed = sniff_media_type(raw[:SNIFF_BYTES])
        if sniffed is None:
            return None
        if sniffed == PDF:
            source: PageSource = PdfSource(raw)
        else:
            source = ImageSource(raw, sniffed)
        try:
            return source.page_count
        finally:
            source.close()
    except (OcrError, OSError, ValueError):
        return None
