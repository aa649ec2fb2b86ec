"""Scanned pages (images and image-only PDFs) read by tesseract, straight or not."""
from __future__ import annotations

import os

import pytest
from PIL import Image

from workers.ocr import extract_text

pytestmark = pytest.mark.usefixtures("tesseract")


def assert_reads(helpers, result, lines=None, minimum: float = 0.8) -> None:
    lines = lines or helpers.FRENCH_ENGLISH_TEXT
    ratio = helpers.found_ratio(lines, result.text)
    assert ratio >= minimum, f"only {ratio:.0%} of the words read back:\n{result.text}"


def test_png(samples, page, helpers) -> None:
    result = extract_text(samples.png(page))
    assert result.media_type == "image/png"
    [only] = result.pages
    assert (only.number, only.method, only.rotation, only.skew) == (1, "tesseract", 0, 0.0)
    assert only.confidence > 70
    assert_reads(helpers, result)
    assert "sécurité" in only.text.lower()


def test_jpeg(samples, page, helpers) -> None:
    result = extract_text(samples.jpeg(samples.scan_like(page)))
    assert result.media_type == "image/jpeg"
    assert_reads(helpers, result)


def test_scanned_pdf(samples, page, helpers) -> None:
    other = samples.page(helpers.OTHER_TEXT)
    result = extract_text(samples.scanned_pdf([samples.scan_like(page), other]), "application/pdf")
    assert result.media_type == "application/pdf"
    assert [(p.number, p.method) for p in result.pages] == [(1, "tesseract"), (2, "tesseract")]
    assert_reads(helpers, result.pages[0])
    assert_reads(helpers, result.pages[1], helpers.OTHER_TEXT)


def test_multi_page_tiff(samples, page, helpers) -> None:
    other = samples.page(helpers.OTHER_TEXT)
    result = extract_text(samples.tiff([page, other]))
    assert result.media_type == "image/tiff"
    assert len(result.pages) == 2
    assert_reads(helpers, result.pages[0])
    assert_reads(helpers, result.pages[1], helpers.OTHER_TEXT)


@pytest.mark.parametrize(("ccw", "rotation"), [(90, 90), (180, 180), (-90, 270)])
def test_turned_scan_reads_as_well(samples, page, helpers, ccw: int, rotation: int) -> None:
    straight = extract_text(samples.png(page)).pages[0]
    turned = extract_text(samples.png(samples.rotated(page, ccw))).pages[0]
    assert turned.rotation == rotation
    assert_reads(helpers, turned)
    assert turned.confidence >= straight.confidence - 5


@pytest.mark.parametrize("ccw", [5, -4])
def test_skewed_scan_reads_as_well(samples, page, helpers, ccw: float) -> None:
    straight = extract_text(samples.png(page)).pages[0]
    crooked = extract_text(samples.scanned_pdf([samples.scan_like(samples.rotated(page, ccw))])).pages[0]
    assert crooked.skew == pytest.approx(ccw, abs=0.5)
    assert crooked.rotation == 0
    assert_reads(helpers, crooked)
    assert crooked.confidence >= straight.confidence - 8


def test_turned_and_skewed(samples, page, helpers) -> None:
    result = extract_text(samples.png(samples.rotated(samples.rotated(page, 180), 3))).pages[0]
    assert result.rotation == 180
    assert result.skew == pytest.approx(3, abs=0.5)
    assert_reads(helpers, result)


def test_little_text_upside_down(samples, helpers) -> None:
    # Too little text for tesseract's orientation detection: the fallback tries turns.
    lines = ["Attestation de salaire", "Certificate of salary"]
    page = samples.page(lines, font_size=48)
    result = extract_text(samples.png(samples.rotated(page, 180))).pages[0]
    assert result.rotation == 180
    assert_reads(helpers, result, lines)


def test_exif_orientation_is_honoured(samples, page, helpers) -> None:
    # A phone stores the pixels sideways and says so in EXIF (6: turn 90 clockwise to view).
    sideways = page.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    result = extract_text(samples.jpeg(sideways, exif=exif.tobytes())).pages[0]
    assert_reads(helpers, result)


def test_blank_page(samples) -> None:
    result = extract_text(samples.png(Image.new("L", (1240, 1754), 255)))
    [only] = result.pages
    assert (only.text, only.confidence, only.method) == ("", 0.0, "tesseract")


def test_omp_thread_limit(samples, page, monkeypatch) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    extract_text(samples.png(page.resize((600, 850))))
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def test_english_only(samples, page, helpers) -> None:
    result = extract_text(samples.png(page), languages="eng")
    assert_reads(helpers, result, minimum=0.7)
