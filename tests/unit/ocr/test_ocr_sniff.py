"""Media type from magic bytes, whatever the file name or the caller says."""
from __future__ import annotations

import pytest

from workers.ocr import count_pages, sniff_media_type


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"\xef\xbb\xbf\r\n%PDF-1.4\n", "application/pdf"),  # junk before the header is tolerated
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\xff\xd8\xff\xe1\x00\x10Exif\x00", "image/jpeg"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"II+\x00\x08\x00\x00\x00", "image/tiff"),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"PK\x03\x04\x14\x00", None),  # a .docx / zip
        (b"<html><body>%PD", None),
        (b"hello", None),
        (b"", None),
        (b"\x89PNG", None),  # too short to be sure
    ],
)
def test_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


def test_pdf_header_after_1024_bytes_is_not_a_pdf() -> None:
    assert sniff_media_type(b" " * 1024 + b"%PDF-1.4") is None


def test_png_bytes_named_pdf_are_a_png(samples, page) -> None:
    png = samples.png(page)
    assert sniff_media_type(png[:16]) == "image/png"
    # The declared type is only a hint: the bytes win.
    assert count_pages(png, "application/pdf") == 1
