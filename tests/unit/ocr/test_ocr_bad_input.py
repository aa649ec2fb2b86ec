"""Bad input gives a clear OcrError (with a code and a reason), never a crash."""
from __future__ import annotations

import time

import pytest
from PIL import Image

from workers.ocr import (
    CorruptDocumentError,
    DecompressionBombError,
    EmptyDocumentError,
    EncryptedDocumentError,
    OcrEngineError,
    OcrError,
    TooManyPagesError,
    UnsupportedMediaTypeError,
    count_pages,
    extract_text,
)

TEXT = ["Attestation de paiement des indemnités journalières", "Payment certificate for daily allowances"] * 3


def test_zero_bytes() -> None:
    with pytest.raises(EmptyDocumentError) as info:
        extract_text(b"")
    assert info.value.code == "empty_document"
    assert "empty" in info.value.reason
    assert count_pages(b"") is None


@pytest.mark.parametrize("reader", ["pdfium", "pdfplumber"])
def test_truncated_pdf(samples, reader: str) -> None:
    data = samples.text_pdf([TEXT, TEXT])
    for cut in (len(data) // 2, len(data) - 40, 200):
        with pytest.raises(CorruptDocumentError) as info:
            extract_text(data[:cut], "application/pdf", text_layer=reader)
        assert info.value.code == "corrupt_document"
        assert info.value.permanent
    assert count_pages(data[: len(data) // 2]) is None


def test_pdf_with_garbage_body() -> None:
    with pytest.raises(CorruptDocumentError) as info:
        extract_text(b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n")
    assert "PDF" in info.value.reason


@pytest.mark.parametrize("reader", ["pdfium", "pdfplumber"])
def test_encrypted_pdf(samples, reader: str) -> None:
    data = samples.text_pdf([TEXT], encrypt="s3cret")
    with pytest.raises(EncryptedDocumentError) as info:
        extract_text(data, text_layer=reader)
    assert "password" in info.value.reason
    assert info.value.code == "encrypted_document"
    assert count_pages(data) is None


def test_pdf_with_owner_password_only_is_readable(samples, helpers) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    data = samples.text_pdf([TEXT], encrypt=StandardEncryption("", ownerPassword="owner", canModify=0))
    result = extract_text(data)
    assert helpers.found_ratio(TEXT, result.text) >= 0.9


def test_png_named_pdf_is_read_as_png(samples, helpers, tesseract) -> None:
    png = samples.png(samples.page(helpers.FRENCH_ENGLISH_TEXT))
    result = extract_text(png, media_type="application/pdf")
    assert result.media_type == "image/png"
    assert helpers.found_ratio(helpers.FRENCH_ENGLISH_TEXT, result.text) >= 0.8


@pytest.mark.parametrize(
    "data",
    [b"GIF89a\x01\x00\x01\x00\x80\x00\x00", b"PK\x03\x04 a zip file", b"just some text\n", b"\x00" * 100],
)
def test_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as info:
        extract_text(data, media_type="application/pdf")
    assert "PDF, PNG, JPEG or TIFF" in info.value.reason
    assert count_pages(data) is None


def test_decompression_bomb_refused_before_decoding(helpers, monkeypatch) -> None:
    bomb = helpers.png_claiming(50_000, 50_000)
    started = time.perf_counter()
    with pytest.raises(DecompressionBombError) as info:
        extract_text(bomb)
    assert time.perf_counter() - started < 2  # nothing was decoded
    assert "50000x50000" in info.value.reason or "pixels" in info.value.reason
    # Our limit holds even when Pillow's own guard is switched off.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(DecompressionBombError):
        extract_text(bomb)
    with pytest.raises(DecompressionBombError):
        extract_text(helpers.png_claiming(12_000, 9_000))  # 108 MP: above our 100 MP


def test_pixel_limit_is_a_parameter(samples, page) -> None:
    with pytest.raises(DecompressionBombError):
        extract_text(samples.png(page), max_pixels=1_000_000)


def test_tiff_page_bomb(samples, page) -> None:
    small = page.resize((200, 280))
    data = samples.tiff([small, page])
    with pytest.raises(DecompressionBombError):
        extract_text(data, max_pixels=100_000, pages=[2])


def test_broken_image(samples, page) -> None:
    png = samples.png(page)
    with pytest.raises(CorruptDocumentError):
        extract_text(png[:16] + b"garbage" * 10)
    with pytest.raises(CorruptDocumentError) as info:
        extract_text(png[: len(png) // 2])  # header fine, pixel data cut short
    assert "decoded" in info.value.reason or "truncated" in info.value.reason
    jpeg = samples.jpeg(page)
    with pytest.raises(CorruptDocumentError):
        extract_text(jpeg[:600])


def test_too_many_pages(samples) -> None:
    data = samples.text_pdf([TEXT, TEXT, TEXT])
    with pytest.raises(TooManyPagesError):
        extract_text(data, max_pages=2)
    assert len(extract_text(data, max_pages=3).pages) == 3


def test_errors_share_a_base_and_tell_if_retrying_helps() -> None:
    for cls in (
        UnsupportedMediaTypeError, EncryptedDocumentError, CorruptDocumentError,
        DecompressionBombError, EmptyDocumentError, TooManyPagesError,
    ):
        assert issubclass(cls, OcrError)
        assert cls("x").permanent
    assert issubclass(OcrEngineError, OcrError)
    assert not OcrEngineError("x").permanent


def test_bad_languages_refused(samples, page) -> None:
    with pytest.raises(ValueError):
        extract_text(samples.png(page), languages="fra; rm -rf /")


def test_scratch_files_removed_after_failure(samples, page, monkeypatch, tmp_path) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(OcrError):
        extract_text(samples.png(page), languages="zzz")  # tesseract (if present) cannot load it
    assert list(tmp_path.iterdir()) == []


def test_path_input(samples, tmp_path) -> None:
    path = tmp_path / "note.bin"
    path.write_bytes(samples.text_pdf([TEXT]))
    assert extract_text(path).pages[0].method == "text_layer"
    assert extract_text(str(path)).media_type == "application/pdf"
    assert count_pages(path) == 1
    with pytest.raises(TypeError):
        extract_text(12345)  # type: ignore[arg-type]
