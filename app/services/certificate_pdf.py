"""The PDF of a certificate (reportlab): institution, number, date, statement, table, QR and code."""
from __future__ import annotations

import io
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from app.models.registry import Certificate
from app.services.certificates import format_code, format_date

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
BODY_FONT, BOLD_FONT = "Helvetica", "Helvetica-Bold"
QR_SIZE = 32 * mm
QR_BLOCK = QR_SIZE + 6 * mm  # height the verification block needs at the bottom of the last page


class _Writer:
    """A cursor over pages: writes wrapped text and table rows, starting a new page when full."""

    def __init__(self, canvas: Canvas, number: str) -> None:
        self.c = canvas
        self.number = number
        self.page = 1
        self.y = PAGE_H - MARGIN
        self.bottom = MARGIN + 4 * mm

    def need(self, height: float) -> None:
        if self.y - height < self.bottom:
            self._footer()
            self.c.showPage()
            self.page += 1
            self.y = PAGE_H - MARGIN
            self.c.setFont(BODY_FONT, 9)
            self.c.drawString(MARGIN, self.y, f"{self.number} (continued)")
            self.y -= 8 * mm

    def _footer(self) -> None:
        self.c.setFont(BODY_FONT, 8)
        self.c.drawRightString(PAGE_W - MARGIN, MARGIN - 8 * mm, f"{self.number} · page {self.page}")

    def paragraph(self, text: str, font: str = BODY_FONT, size: float = 10.5, gap: float = 3 * mm) -> None:
        lines = simpleSplit(text, font, size, PAGE_W - 2 * MARGIN)
        leading = size * 1.35
        for line in lines:
            self.need(leading)
            self.c.setFont(font, size)
            self.c.drawString(MARGIN, self.y - size, line)
            self.y -= leading
        self.y -= gap

    def table(self, columns: list[str], rows: list[list[str]]) -> None:
        width = PAGE_W - 2 * MARGIN
        # The first two columns are text; the others are numbers, right-aligned.
        weights = [1.0, 1.6] + [1.0] * (len(columns) - 2)
        scale = width / sum(weights)
        xs = [MARGIN]
        for w in weights[:-1]:
            xs.append(xs[-1] + w * scale)
        row_h = 5 * mm

        def draw(cells: list[str], font: str) -> None:
            self.c.setFont(font, 8.5)
            for i, cell in enumerate(cells):
                if i < 2:
                    self.c.drawString(xs[i] + 1, self.y - 3.8 * mm, cell)
                else:
                    right = xs[i + 1] if i + 1 < len(xs) else MARGIN + width
                    self.c.drawRightString(right - 2, self.y - 3.8 * mm, cell)
            self.y -= row_h

        self.need(2 * row_h)
        draw(columns, BOLD_FONT)
        self.c.line(MARGIN, self.y + 0.8 * mm, MARGIN + width, self.y + 0.8 * mm)
        for row in rows:
            if self.y - row_h < self.bottom:
                self.need(2 * row_h)
                draw(columns, BOLD_FONT)
            draw(row, BODY_FONT)
        self.y -= 3 * mm

    def finish(self) -> None:
        """Make room for the verification block, then close the last page's footer."""
        if self.y - QR_BLOCK < self.bottom:
            self.need(self.y)  # forces a new page
        self._footer()


def render_certificate_pdf(certificate: Certificate, institution: str, verify_url: str) -> bytes:
    """The certificate as a PDF with its number, date, statement, QR code and verification code."""
    statement: dict[str, Any] = certificate.statement
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{statement['title']} {certificate.number}")
    canvas.setAuthor(institution)
    canvas.setSubject(certificate.type)

    # Letterhead and number, on the first page.
    canvas.setFont(BOLD_FONT, 15)
    canvas.drawString(MARGIN, PAGE_H - MARGIN - 5 * mm, institution)
    canvas.setFont(BODY_FONT, 9.5)
    canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - MARGIN - 4 * mm, f"No. {certificate.number}")
    canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - MARGIN - 9 * mm,
                           f"Issued on {format_date(certificate.issued_at.date())}")
    canvas.line(MARGIN, PAGE_H - MARGIN - 12 * mm, PAGE_W - MARGIN, PAGE_H - MARGIN - 12 * mm)

    writer = _Writer(canvas, certificate.number)
    writer.y = PAGE_H - MARGIN - 26 * mm
    canvas.setFont(BOLD_FONT, 17)
    canvas.drawCentredString(PAGE_W / 2, writer.y, statement["title"])
    writer.y -= 12 * mm
    for line in statement.get("lines", []):
        writer.paragraph(line)
    table = statement.get("table")
    if table and table.get("rows"):
        writer.table(table["columns"], table["rows"])
    if certificate.valid_until:
        writer.paragraph(f"Valid until {format_date(certificate.valid_until)}.", BOLD_FONT, 10)
    writer.paragraph(f"Issued by {certificate.issued_by} for {certificate.subject_name}.", BODY_FONT, 9)
    writer.finish()
    _draw_verification(canvas, certificate, verify_url)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_verification(canvas: Canvas, certificate: Certificate, verify_url: str) -> None:
    """The QR code of the verification URL and the code in words, at the bottom of the last page."""
    widget = QrCodeWidget(verify_url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
    drawing.add(widget)
    bottom = MARGIN
    renderPDF.draw(drawing, canvas, MARGIN, bottom)
    text_x = MARGIN + QR_SIZE + 6 * mm
    canvas.setFont(BOLD_FONT, 11)
    code = format_code(certificate.verification_code)
    canvas.drawString(text_x, bottom + QR_SIZE - 6 * mm, f"Verification code: {code}")
    canvas.setFont(BODY_FONT, 9)
    canvas.drawString(text_x, bottom + QR_SIZE - 12 * mm, "Anyone can check that this certificate is genuine")
    canvas.drawString(text_x, bottom + QR_SIZE - 16.5 * mm, "by scanning the code or opening:")
    canvas.drawString(text_x, bottom + QR_SIZE - 21 * mm, verify_url)
