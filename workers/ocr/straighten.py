"""Find and undo a page's quarter turn and small skew, cheaply, with numpy.

Text lines make the ink projection profile perpendicular to them spiky (lines, then
white gaps); along them it is flat. So on a downscaled, binarised copy of the page the
profile is computed for small angles around 0 degrees (lines running across) and around
90 degrees (lines running down): the sharpest profile gives the line direction and the
skew. Telling 0 from 180 degrees needs reading the text, which is left to tesseract
(see recognise.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# Work on a copy whose longer side is about this many pixels: enough for 0.1 degree
# steps, small enough to take a few tens of milliseconds.
ANALYSIS_SIZE = 1200
MAX_SKEW = 10.0
COARSE_STEP = 0.5
FINE_STEP = 0.1
# Skews smaller than this are left alone: tesseract copes, and a rotation costs time
# and softens the glyphs.
MIN_SKEW = 0.3
# Cap on the ink pixels fed to the profile, for speed on dense pages.
MAX_POINTS = 60_000
# Best profile across / best profile down above this ratio: lines run across (and the
# inverse for down); in between the direction is uncertain (photos, tables, blank pages).
DIRECTION_MARGIN = 1.25


@dataclass(frozen=True)
class Layout:
    """quarter_turn: 0, or 90 when lines run down the page (turned 90 degrees clockwise to
    fix; 270 is then caught as upside down). skew: counter-clockwise tilt in degrees.
    certain: False when the line direction could not be told (photo, table, little ink)."""

    quarter_turn: int = 0
    skew: float = 0.0
    certain: bool = False


def to_grayscale(image: Image.Image) -> Image.Image:
    """8-bit grayscale on a white background, whatever the input mode."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return Image.fromarray(((array - low) * scale).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "L":
        image = image.convert("L")
    return image


def _ink_points(gray: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    factor = max(1, round(max(gray.size) / ANALYSIS_SIZE))
    small = gray.reduce(factor) if factor > 1 else gray
    array = np.asarray(small, dtype=np.uint8)
    threshold = _otsu(array)
    ink = array < threshold
    fraction = float(ink.mean())
    if fraction > 0.5:  # light text on a dark background
        ink = ~ink
        fraction = 1.0 - fraction
    if fraction < 0.0005 or fraction > 0.45:
        return None
    ys, xs = np.nonzero(ink)
    if len(ys) > MAX_POINTS:
        step = len(ys) // MAX_POINTS + 1
        ys, xs = ys[::step], xs[::step]
    # Centre the coordinates so the candidate rotations turn about the middle.
    return (ys - array.shape[0] / 2.0).astype(np.float32), (xs - array.shape[1] / 2.0).astype(np.float32)


def _otsu(array: np.ndarray) -> int:
    hist = np.bincount(array.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    levels = np.arange(256, dtype=np.float64)
    weight_low = np.cumsum(hist)
    weight_high = total - weight_low
    sum_low = np.cumsum(hist * levels)
    mean_low = np.divide(sum_low, weight_low, out=np.zeros(256), where=weight_low > 0)
    mean_high = np.divide(sum_low[-1] - sum_low, weight_high, out=np.zeros(256), where=weight_high > 0)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return int(np.argmax(between)) + 1


def _sharpness(across: np.ndarray, along: np.ndarray, angle: float) -> float:
    """How spiky the ink profile is across lines tilted by `angle` degrees."""
    radians = np.deg2rad(angle)
    position = across * np.float32(np.cos(radians)) + along * np.float32(np.sin(radians))
    bins = np.rint(position - position.min()).astype(np.int64)
    counts = np.bincount(bins).astype(np.float64)
    return float(np.dot(counts, counts))


def _coarse(across: np.ndarray, along: np.ndarray) -> tuple[float, float, float]:
    """(best coarse angle, its score, score at 0) of the profile sharpness."""
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + COARSE_STEP / 2, COARSE_STEP)
    scores = [_sharpness(across, along, a) for a in coarse]
    index = int(np.argmax(scores))
    return float(coarse[index]), scores[index], scores[int(np.argmin(np.abs(coarse)))]


def _refine(across: np.ndarray, along: np.ndarray, angle: float) -> float:
    """The best angle within one coarse step of `angle`, to FINE_STEP."""
    fine = np.arange(angle - COARSE_STEP, angle + COARSE_STEP + FINE_STEP / 2, FINE_STEP)
    scores = [_sharpness(across, along, a) for a in fine]
    return float(round(fine[int(np.argmax(scores))], 2))


def analyse_layout(gray: Image.Image) -> Layout:
    """Line direction and skew of a grayscale page."""
    points = _ink_points(gray)
    if points is None:
        return Layout()
    ys, xs = points
    across = _coarse(ys, xs)
    down = _coarse(xs, ys)
    if across[1] >= down[1] * DIRECTION_MARGIN:
        quarter_turn, (angle, best, zero), certain = 0, across, True
    elif down[1] >= across[1] * DIRECTION_MARGIN:
        quarter_turn, (angle, best, zero), certain = 90, down, True
    else:
        quarter_turn, (angle, best, zero), certain = 0, across, False
    # A "skew" that barely sharpens the profile is noise (pictures, stamps): ignore it.
    if best < zero * 1.02:
        angle = 0.0
    else:
        angle = _refine(ys, xs, angle) if quarter_turn == 0 else _refine(xs, ys, angle)
    # The profile position is y*cos(a) + x*sin(a); lines tilted counter-clockwise on the
    # screen (y grows downwards) line up for a = +tilt across, and a = -tilt down.
    skew = angle if quarter_turn == 0 else -angle
    return Layout(quarter_turn=quarter_turn, skew=skew, certain=certain)


def deskew(gray: Image.Image, skew: float) -> Image.Image:
    """Turn the page back by `skew` degrees (no-op below MIN_SKEW)."""
    if abs(skew) < MIN_SKEW:
        return gray
    return gray.rotate(-skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def turn(gray: Image.Image, clockwise: int) -> Image.Image:
    """Turn the page clockwise by a multiple of 90 degrees."""
    clockwise %= 360
    if clockwise == 90:
        return gray.transpose(Image.Transpose.ROTATE_270)
    if clockwise == 180:
        return gray.transpose(Image.Transpose.ROTATE_180)
    if clockwise == 270:
        return gray.transpose(Image.Transpose.ROTATE_90)
    return gray
