"""Read one page image: straighten it, run tesseract, verify the orientation."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .straighten import MIN_SKEW, analyse_layout, deskew, to_grayscale, turn
from .tesseract import (
    DEFAULT_LANGUAGES,
    DEFAULT_PAGE_TIMEOUT,
    Recognition,
    detect_orientation,
    recognise,
)

log = logging.getLogger(__name__)

# Below this mean word confidence the page may be upside down (tesseract reads upright
# text of a fair scan at 80-95, upside-down text at 30-50): check the orientation.
VERIFY_BELOW = 70.0
# OSD orientation confidence from which "it is upright" is believed without trying turns.
OSD_TRUSTED = 5.0
# A turned reading must beat the first one by this many points to replace it.
BETTER_BY = 5.0


@dataclass(frozen=True)
class PageReading:
    """What tesseract read on a straightened page."""

    text: str
    confidence: float
    rotation: int
    skew: float


def read_image(
    image: Image.Image,
    *,
    languages: str = DEFAULT_LANGUAGES,
    workdir: Path,
    dpi: int | None = None,
    timeout: int = DEFAULT_PAGE_TIMEOUT,
) -> PageReading:
    """Straighten (quarter turn, skew), recognise, and re-read turned if it reads badly."""
    gray = to_grayscale(image)
    layout = analyse_layout(gray)
    straight = turn(deskew(gray, layout.skew), layout.quarter_turn)
    skew = layout.skew if abs(layout.skew) >= MIN_SKEW else 0.0

    def run(img: Image.Image) -> Recognition:
        return recognise(img, languages=languages, workdir=workdir, dpi=dpi, timeout=timeout)

    best = run(straight)
    extra = 0
    if best.characters and best.confidence < VERIFY_BELOW:
        for candidate in _turns_to_try(straight, layout.certain, workdir, dpi, timeout):
            reading = run(turn(straight, candidate))
            if reading.characters and reading.confidence > best.confidence + BETTER_BY:
                best, extra = reading, candidate
                if best.confidence >= VERIFY_BELOW:
                    break
        log.debug("orientation check: extra turn %s, confidence %.1f", extra, best.confidence)
    rotation = (layout.quarter_turn + extra) % 360
    return PageReading(text=best.text, confidence=best.confidence, rotation=rotation, skew=skew)


def _turns_to_try(
    straight: Image.Image, certain: bool, workdir: Path, dpi: int | None, timeout: int
) -> list[int]:
    """Clockwise turns worth a second reading, best guess first."""
    osd = detect_orientation(straight, workdir=workdir, dpi=dpi, timeout=timeout)
    # Without OSD (too little text) the line direction is still known when certain, so
    # only upside down remains; otherwise every turn is a candidate.
    fallback = [180] if certain else [90, 180, 270]
    if osd is None:
        return fallback
    if osd.confidence >= OSD_TRUSTED:
        # Upright per OSD means a poor scan, not a turned one: nothing to try.
        return [osd.rotate] if osd.rotate else []
    return ([osd.rotate] if osd.rotate else []) + [t for t in fallback if t != osd.rotate]
