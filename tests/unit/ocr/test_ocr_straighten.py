"""The numpy line-direction and skew detector, without tesseract."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from workers.ocr.straighten import Layout, analyse_layout, deskew, to_grayscale, turn


@pytest.mark.parametrize(
    ("ccw", "quarter_turn", "skew"),
    [(0, 0, 0.0), (5, 0, 5.0), (-4, 0, -4.0), (1.5, 0, 1.5), (90, 90, 0.0), (-90, 90, 0.0), (93, 90, 3.0),
     (180, 0, 0.0), (176, 0, -4.0)],
)
def test_line_direction_and_skew(samples, page, ccw: float, quarter_turn: int, skew: float) -> None:
    layout = analyse_layout(samples.rotated(page, ccw))
    assert layout.certain
    assert layout.quarter_turn == quarter_turn
    assert layout.skew == pytest.approx(skew, abs=0.3)


def test_blank_and_black_pages_are_left_alone() -> None:
    assert analyse_layout(Image.new("L", (1000, 1400), 255)) == Layout()
    assert analyse_layout(Image.new("L", (1000, 1400), 0)) == Layout()


def test_deskew_then_detect_again(samples, page) -> None:
    crooked = samples.rotated(page, 6)
    fixed = deskew(crooked, analyse_layout(crooked).skew)
    assert abs(analyse_layout(fixed).skew) < 0.4
    assert deskew(page, 0.1) is page  # tiny skews are not worth a rotation


def test_turn_is_clockwise(page) -> None:
    turned = turn(page, 90)
    assert turned.size == (page.height, page.width)
    # The top-left corner of the page (text) ends up at the top right.
    assert np.asarray(turn(page.rotate(90, expand=True), 90)).tolist() == np.asarray(page).tolist()
    assert turn(page, 0) is page
    assert turn(page, 360) is page


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "1", "I;16", "CMYK", "LA"])
def test_to_grayscale(page, mode: str) -> None:
    small = page.resize((200, 280))
    if mode == "I;16":
        converted = Image.fromarray((np.asarray(small, dtype=np.uint16) * 257).astype(np.uint16))
    elif mode in ("RGBA", "LA"):
        converted = small.convert(mode)
        converted.putalpha(Image.new("L", small.size, 0))  # fully transparent: white page
    else:
        converted = small.convert(mode)
    gray = to_grayscale(converted)
    assert gray.mode == "L"
    assert gray.size == small.size
    if mode in ("RGBA", "LA"):
        assert np.asarray(gray).min() == 255
    else:
        assert np.asarray(gray).min() < 100  # the text survived
