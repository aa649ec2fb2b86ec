"""Fixtures for the OCR tests: real pages rendered from known text, in every shape.

Nothing is read from disk except a TrueType font, looked up by name in the usual font
directories; tests needing one skip (with the reason) when none exists. Tests needing
tesseract skip when it is missing, unless GUICHET_REQUIRE_SERVICES=1, where they fail.
"""
from __future__ import annotations

import io
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import unicodedata
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FRENCH_ENGLISH_TEXT = [
    "Caisse primaire d'assurance maladie",
    "Attestation de droits à l'assurance maladie",
    "Le bénéficiaire est affilié au régime général de la sécurité sociale depuis le premier janvier.",
    "Les indemnités journalières sont versées après un délai de carence de trois jours.",
    "Numéro de dossier : 2024 0715 3381",
    "The insured person must return this certificate within forty-eight hours to the local office.",
    "Please enclose your bank details and a copy of your identity card with the signed form.",
    "Employers declare salaries every month through the nominative social declaration.",
]
OTHER_TEXT = [
    "Relevé de situation des cotisations",
    "Contributions were received for the second quarter and the account is balanced.",
    "Le gestionnaire reste à votre disposition pour toute information complémentaire.",
]
PREFERRED_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf", "arial.ttf")
DPI = 300
PAGE_SIZE = (1748, 2480)  # A5 at 300 dpi


def require_services() -> bool:
    return os.environ.get("GUICHET_REQUIRE_SERVICES") == "1"


def _font_dirs() -> Iterable[Path]:
    home = Path.home()
    yield home / ".fonts"
    yield home / ".local" / "share" / "fonts"
    data_dirs = os.environ.get("XDG_DATA_DIRS") or os.pathsep.join(["/usr/local/share", "/usr/share"])
    for entry in data_dirs.split(os.pathsep):
        if entry:
            yield Path(entry) / "fonts"
    if sys.platform == "darwin":
        yield Path("/Library/Fonts")
        yield Path("/System/Library/Fonts")
    if os.environ.get("WINDIR"):
        yield Path(os.environ["WINDIR"]) / "Fonts"


@lru_cache(maxsize=1)
def find_font() -> str | None:
    """Path of a TrueType font with Latin accents, or None."""
    for name in PREFERRED_FONTS:
        try:  # Pillow looks the name up in the system font directories itself
            return ImageFont.truetype(name, 12).path
        except OSError:
            pass
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}", "sans-serif:lang=fr"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
            if out.lower().endswith(".ttf") and Path(out).is_file():
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    fallback = None
    for directory in _font_dirs():
        if not directory.is_dir():
            continue
        for path in directory.rglob("*.ttf"):
            if path.name in PREFERRED_FONTS:
                return str(path)
            fallback = fallback or str(path)
    return fallback


def words_of(text: str) -> set[str]:
    """Lower-case words of 4 letters or more (accents kept)."""
    return {w for w in re.findall(r"[^\W\d_]{4,}", unicodedata.normalize("NFC", text).lower())}


def found_ratio(expected: Iterable[str], text: str) -> float:
    """Share of the expected words present in the text (case-insensitive)."""
    wanted = words_of(" ".join(expected))
    return len(wanted & words_of(text)) / len(wanted)


class Samples:
    """Makers of real test documents from known text."""

    def __init__(self, font_path: str) -> None:
        self.font_path = font_path

    def page(self, lines: list[str] = FRENCH_ENGLISH_TEXT, *, size=PAGE_SIZE, font_size: int = 40) -> Image.Image:
        """A white grayscale page with the lines typeset at the top left."""
        font = ImageFont.truetype(self.font_path, font_size)
        image = Image.new("L", size, 255)
        draw = ImageDraw.Draw(image)
        margin = size[0] // 12
        width_chars = max(20, int((size[0] - 2 * margin) / (font_size * 0.55)))
        y = margin
        for line in lines:
            for part in textwrap.wrap(line, width_chars):
                draw.text((margin, y), part, font=font, fill=0)
                y += int(font_size * 1.5)
            y += font_size // 2
        return image

    @staticmethod
    def scan_like(image: Image.Image, seed: int = 7) -> Image.Image:
        """Soften and speckle a page the way a cheap scanner does."""
        rng = random.Random(seed)
        blurred = image.filter(ImageFilter.GaussianBlur(0.8))
        noise = Image.effect_noise(image.size, 18).point(lambda v: v - 128)
        speckled = Image.blend(blurred, Image.eval(noise, lambda v: min(255, max(0, v + rng.randint(96, 160)))), 0.1)
        return speckled.point(lambda v: min(255, int(v * 1.05)))

    @staticmethod
    def rotated(image: Image.Image, degrees_ccw: float) -> Image.Image:
        """The page turned counter-clockwise, the corners filled with white."""
        if degrees_ccw % 90 == 0:
            return image.rotate(degrees_ccw, expand=True)
        return image.rotate(degrees_ccw, expand=True, resample=Image.Resampling.BICUBIC, fillcolor=255)

    @staticmethod
    def png(image: Image.Image) -> bytes:
        buf = io.BytesIO()
        # Save copies: Pillow keeps save options on the image object, and the session's
        # shared pages must not carry one format's options into the next save.
        image.copy().save(buf, format="PNG", dpi=(DPI, DPI))
        return buf.getvalue()

    @staticmethod
    def jpeg(image: Image.Image, **params) -> bytes:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=90, dpi=(DPI, DPI), **params)
        return buf.getvalue()

    @staticmethod
    def tiff(images: list[Image.Image]) -> bytes:
        buf = io.BytesIO()
        images = [image.copy() for image in images]
        images[0].save(buf, format="TIFF", save_all=True, append_images=images[1:], dpi=(DPI, DPI),
                       compression="tiff_lzw")
        return buf.getvalue()

    @staticmethod
    def scanned_pdf(images: list[Image.Image]) -> bytes:
        """An image-only PDF, one scan per page, as a scanner makes it."""
        buf = io.BytesIO()
        images = [image.copy() for image in images]
        images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=DPI)
        return buf.getvalue()

    @staticmethod
    def text_pdf(pages: list[list[str]], *, encrypt=None) -> bytes:
        """A PDF with a real text layer (reportlab, Helvetica)."""
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        buf = io.BytesIO()
        pdf = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
        for lines in pages:
            pdf.setFont("Helvetica", 11)
            y = A4[1] - 72
            for line in lines:
                for part in textwrap.wrap(line, 90):
                    pdf.drawString(72, y, part)
                    y -= 15
            pdf.showPage()
        pdf.save()
        return buf.getvalue()

    def mixed_pdf(self, text_lines: list[str], scan: Image.Image, caption: str | None = None) -> bytes:
        """Page 1 with a text layer; page 2 a full-page scan (with an optional short caption)."""
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.utils import ImageReader
        from reportlab.pdfgen import canvas

        buf = io.BytesIO()
        pdf = canvas.Canvas(buf, pagesize=A4)
        pdf.setFont("Helvetica", 11)
        y = A4[1] - 72
        for line in text_lines:
            pdf.drawString(72, y, line)
            y -= 15
        pdf.showPage()
        pdf.drawImage(ImageReader(scan.convert("RGB")), 0, 0, width=A4[0], height=A4[1])
        if caption:
            pdf.setFont("Helvetica", 8)
            pdf.drawString(20, 12, caption)
        pdf.showPage()
        pdf.save()
        return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height pixels, with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def font_path() -> str:
    path = find_font()
    if path is None:
        if require_services():
            pytest.fail("no TrueType font found to render test pages (GUICHET_REQUIRE_SERVICES=1)")
        pytest.skip("no TrueType font found (looked for DejaVu/Liberation/Free Sans in the font directories)")
    return path


@pytest.fixture(scope="session")
def samples(font_path: str) -> Samples:
    return Samples(font_path)


@pytest.fixture(scope="session")
def tesseract() -> None:
    """Skip (or fail under GUICHET_REQUIRE_SERVICES=1) when tesseract with fra+eng is missing."""
    from workers.ocr import tesseract_available

    problem = None
    if not tesseract_available():
        problem = "tesseract is not installed (apt install tesseract-ocr tesseract-ocr-fra)"
    else:
        import pytesseract

        missing = {"fra", "eng", "osd"} - set(pytesseract.get_languages(config=""))
        if missing:
            problem = f"tesseract language data missing: {', '.join(sorted(missing))}"
    if problem:
        if require_services():
            pytest.fail(f"{problem} (GUICHET_REQUIRE_SERVICES=1)")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def page(samples: Samples) -> Image.Image:
    return samples.page()


@pytest.fixture(scope="session")
def helpers():
    """The module-level helpers, for tests (conftest modules are not imported directly)."""

    class Helpers:
        words_of = staticmethod(words_of)
        found_ratio = staticmethod(found_ratio)
        png_claiming = staticmethod(png_claiming)
        FRENCH_ENGLISH_TEXT = globals()["FRENCH_ENGLISH_TEXT"]
        OTHER_TEXT = globals()["OTHER_TEXT"]

    return Helpers
