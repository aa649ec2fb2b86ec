"""PDFs with a text layer are read without OCR; pages without one fall back to OCR."""
from __future__ import annotations

import pytest

from workers.ocr import OcrResult, PageText, count_pages, extract_text

PAGE_ONE = [
    "Déclaration sociale nominative du mois de mars",
    "L'employeur déclare les rémunérations versées à ses salariés et les cotisations dues.",
    "The employer declares the wages paid to employees and the contributions owed.",
]
PAGE_TWO = [
    "Bordereau récapitulatif des cotisations",
    "Montant total à régler avant le quinze du mois suivant la période d'emploi.",
    "Total amount payable before the fifteenth of the following month.",
]


@pytest.mark.parametrize("reader", ["pdfium", "pdfplumber"])
def test_text_layer_pages(samples, helpers, reader: str) -> None:
    data = samples.text_pdf([PAGE_ONE, PAGE_TWO])
    result = extract_text(data, text_layer=reader)
    assert isinstance(result, OcrResult)
    assert result.media_type == "application/pdf"
    assert [p.number for p in result.pages] == [1, 2]
    for page, lines in zip(result.pages, (PAGE_ONE, PAGE_TWO)):
        assert isinstance(page, PageText)
        assert page.method == "text_layer"
        assert page.confidence == 100.0
        assert (page.rotation, page.skew) == (0, 0.0)
        assert helpers.found_ratio(lines, page.text) == 1.0
    assert "Déclaration sociale nominative" in result.pages[0].text
    assert "\f" in result.text
    assert result.confidence == 100.0


def test_unknown_reader_refused(samples) -> None:
    with pytest.raises(ValueError):
        extract_text(samples.text_pdf([PAGE_ONE]), text_layer="magic")


def test_only_some_pages(samples, helpers) -> None:
    data = samples.text_pdf([PAGE_ONE, PAGE_TWO, PAGE_ONE])
    result = extract_text(data, pages=[2])
    assert [p.number for p in result.pages] == [2]
    assert helpers.found_ratio(PAGE_TWO, result.pages[0].text) == 1.0


def test_count_pages(samples, page) -> None:
    assert count_pages(samples.text_pdf([PAGE_ONE] * 3), "application/pdf") == 3
    assert count_pages(samples.scanned_pdf([page, page])) == 2
    assert count_pages(samples.png(page), "image/png") == 1
    assert count_pages(samples.jpeg(page)) == 1
    small = page.resize((300, 420))
    assert count_pages(samples.tiff([small, small, small])) == 3
    assert count_pages(b"not a document") is None


def test_scanned_page_next_to_text_page(samples, helpers, tesseract) -> None:
    scan = samples.page(helpers.OTHER_TEXT, font_size=44)
    data = samples.mixed_pdf(PAGE_ONE, scan, caption="Page 2 sur 2")
    result = extract_text(data)
    first, second = result.pages
    assert first.method == "text_layer"
    assert helpers.found_ratio(PAGE_ONE, first.text) == 1.0
    # Page 2 has a few characters of text layer (the caption) over a full-page scan:
    # that is not a text layer, the page is read by OCR.
    assert second.method == "tesseract"
    assert helpers.found_ratio(helpers.OTHER_TEXT, second.text) >= 0.8
    assert 0 < second.confidence <= 100


def test_threads_share_pdfium(samples, page) -> None:
    from concurrent.futures import ThreadPoolExecutor

    text = samples.text_pdf([PAGE_ONE, PAGE_TWO] * 5)
    scan = samples.scanned_pdf([page.resize((600, 850))] * 3)

    def work(i: int) -> tuple[int | None, int]:
        if i % 2:
            return count_pages(scan), 0
        return count_pages(text), len(extract_text(text).pages)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(40)))
    assert set(results) == {(10, 10), (3, 0)}


def test_scanned_pdf_page_renders_at_300_dpi(samples, page) -> None:
    from workers.ocr import PdfSource

    source = PdfSource(samples.scanned_pdf([page]))
    try:
        assert source.text_layer(0) is None
        image, dpi = source.page_image(0)
        assert dpi == 300
        assert abs(image.width - page.width) <= 2 and abs(image.height - page.height) <= 2
    finally:
        source.close()


def test_huge_pdf_page_rendered_under_the_pixel_limit() -> None:
    import io

    from reportlab.pdfgen import canvas

    from workers.ocr import PdfSource

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(14400, 14400))  # 200 x 200 inches: 3.6 gigapixels at 300 dpi
    pdf.drawString(100, 100, "x")
    pdf.showPage()
    pdf.save()
    source = PdfSource(buf.getvalue(), max_pixels=4_000_000)
    try:
        image, dpi = source.page_image(0)
        assert image.width * image.height <= 4_000_000
        assert dpi is not None and dpi < 300
    finally:
        source.close()
