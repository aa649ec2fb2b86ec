"""The tesseract calls: recognise a page image, detect its orientation."""
from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytesseract
from PIL import Image

from .errors import OcrEngineError

DEFAULT_LANGUAGES = "fra+eng"
DEFAULT_PAGE_TIMEOUT = 300  # seconds for one tesseract run
_LANGUAGES = re.compile(r"[A-Za-z_]+(\+[A-Za-z_]+)*")


@dataclass(frozen=True)
class Recognition:
    """Text tesseract read, with its mean word confidence weighted by word length."""

    text: str
    confidence: float
    words: int
    characters: int


@dataclass(frozen=True)
class Orientation:
    """Tesseract OSD: turn the page `rotate` degrees clockwise to read it."""

    rotate: int
    confidence: float


def tesseract_available() -> bool:
    """True when the tesseract executable can be found and run."""
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return False
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError, RuntimeError):
        return False
    return True


def check_languages(languages: str) -> str:
    """Return languages when they look like 'fra+eng', else raise ValueError."""
    if not isinstance(languages, str) or _LANGUAGES.fullmatch(languages) is None:
        raise ValueError(f"invalid tesseract languages {languages!r}")
    return languages


def _prepare_environment() -> None:
    # One thread per tesseract process: parallelism comes from running pages in several
    # worker processes, and OpenMP threads fighting over the same cores slow tesseract down.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _write(image: Image.Image, workdir: Path) -> str:
    # Uncompressed PGM: writing costs milliseconds where PNG (what pytesseract would use)
    # costs tens of them, and tesseract reads it directly.
    path = workdir / f"page-{uuid.uuid4().hex}.pgm"
    image.save(path, format="PPM")
    return str(path)


def _config(dpi: int | None, extra: str = "") -> str:
    parts = [extra] if extra else []
    if dpi:
        parts.append(f"--dpi {int(dpi)}")
    return " ".join(parts)


def recognise(
    image: Image.Image,
    *,
    languages: str = DEFAULT_LANGUAGES,
    workdir: Path,
    dpi: int | None = None,
    timeout: int = DEFAULT_PAGE_TIMEOUT,
) -> Recognition:
    """Run tesseract on a grayscale image; text keeps tesseract's lines and paragraphs."""
    _prepare_environment()
    path = _write(image, workdir)
    try:
        data = pytesseract.image_to_data(
            path,
            lang=check_languages(languages),
            config=_config(dpi),
            output_type=pytesseract.Output.DICT,
            timeout=timeout,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrEngineError("tesseract is not installed") from exc
    except pytesseract.TesseractError as exc:
        raise OcrEngineError(f"tesseract failed: {exc.message or exc.status}") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise OcrEngineError(f"tesseract gave no answer within {timeout} s") from exc
    finally:
        Path(path).unlink(missing_ok=True)
    return _from_data(data)


def _from_data(data: dict[str, list]) -> Recognition:
    parts: list[str] = []
    previous: tuple[int, int, int] | None = None
    weighted = 0.0
    characters = 0
    words = 0
    for i, raw in enumerate(data.get("text", [])):
        word = (raw or "").strip()
        try:
            conf = float(data["conf"][i])
        except (TypeError, ValueError):
            conf = -1.0
        if not word or conf < 0:
            continue
        line = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        if previous is not None:
            if line[:2] != previous[:2]:
                parts.append("\n\n")  # new paragraph
            elif line != previous:
                parts.append("\n")
            else:
                parts.append(" ")
        parts.append(word)
        previous = line
        words += 1
        characters += len(word)
        weighted += conf * len(word)
    confidence = round(weighted / characters, 2) if characters else 0.0
    return Recognition(text="".join(parts), confidence=confidence, words=words, characters=characters)


def detect_orientation(
    image: Image.Image, *, workdir: Path, dpi: int | None = None, timeout: int = DEFAULT_PAGE_TIMEOUT
) -> Orientation | None:
    """Tesseract OSD; None when it cannot tell (too little text)."""
    _prepare_environment()
    path = _write(image, workdir)
    try:
        osd = pytesseract.image_to_osd(
            path, config=_config(dpi, "--psm 0"), output_type=pytesseract.Output.DICT, timeout=timeout
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrEngineError("tesseract is not installed") from exc
    except (pytesseract.TesseractError, RuntimeError, ValueError, KeyError):
        # "Too few characters" and friends: the caller falls back to trying rotations.
        return None
    finally:
        Path(path).unlink(missing_ok=True)
    try:
        return Orientation(rotate=int(osd["rotate"]) % 360, confidence=float(osd["orientation_conf"]))
    except (KeyError, TypeError, ValueError):
        return None
