"""One-page PDFs of text and rules in the standard fonts, written directly (no layout engine).

For documents printed at every request, like receipts: ReportLab's canvas builds an object
graph and compresses it, which cost ~4 ms a receipt; this writes the same kind of page
(Helvetica, Helvetica-Bold and Courier in WinAnsiEncoding, text and lines) in well under a
millisecond. Widths come from ReportLab's font metrics, so centring and wrapping match.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

# Resource name of each font on the page.
FONTS = {"Helvetica": "F1", "Helvetica-Bold": "F2", "Courier": "F3"}
_ESCAPES = {0x28: b"\\(", 0x29: b"\\)", 0x5C: b"\\\\"}
# Letters without a decomposition to a base letter that WinAnsiEncoding has.
_FALLBACKS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŧ": "T", "ŧ": "t",
              "\u2010": "-", "\u2011": "-", "\u2212": "-"}
_LITERAL_BYTES = [bytes([b]) if 32 <= b < 127 else b"\\%03o" % b for b in range(256)]
for _byte, _escaped in _ESCAPES.items():
    _LITERAL_BYTES[_byte] = _escaped


def printable(text: str) -> str:
    """The text with what WinAnsiEncoding cannot show replaced: accents dropped, else '?'."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            base = _FALLBACKS.get(char) or "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                base.encode("cp1252")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _literal(text: str) -> bytes:
    """A PDF literal string of the text in WinAnsiEncoding (non-ASCII bytes as octal escapes)."""
    encoded = text.encode("cp1252")
    return b"(" + b"".join(_LITERAL_BYTES[b] for b in encoded) + b")"


def _text_string(text: str) -> bytes:
    """A PDF text string (document information) in UTF-16BE with its byte order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _number(value: float) -> bytes:
    return (b"%.2f" % value).rstrip(b"0").rstrip(b".") or b"0"


def text_width(text: str, font: str, size: float) -> float:
    """Width of the text in points, as printed."""
    return float(stringWidth(printable(text), font, size))


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """The text cut into lines no wider than width (words kept whole when they fit)."""
    return list(simpleSplit(printable(text), font, size, width))


@dataclass
class Page:
    """A page being drawn: its size in points and the operators of its content stream."""

    width: float
    height: float
    _ops: list[bytes] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, font: str, size: float) -> None:
        """Draw text with its baseline starting at (x, y)."""
        self._ops.append(b"BT /%s %s Tf %s %s Td %s Tj ET" % (
            FONTS[font].encode(), _number(size), _number(x), _number(y), _literal(printable(text))))

    def centred_text(self, x: float, y: float, text: str, font: str, size: float) -> None:
        """Draw text centred on x."""
        self.text(x - text_width(text, font, size) / 2, y, text, font, size)

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 1) -> None:
        """Draw a straight rule."""
        self._ops.append(b"%s w %s %s m %s %s l S" % (
            _number(width), _number(x1), _number(y1), _number(x2), _number(y2)))

    def content(self) -> bytes:
        return b"\n".join(self._ops) + b"\n"


def write_pdf(page: Page, *, title: str, author: str, subject: str, created: datetime) -> bytes:
    """The page as a complete PDF file (catalog, page tree, fonts, content, information, xref)."""
    content = page.content()
    fonts = "".join(f"/{name} {number} 0 R " for name, number in zip(FONTS.values(), (4, 5, 6), strict=True))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << %s>> "
        b"/ProcSet [/PDF /Text] >> /Contents 7 0 R >>" % (_number(page.width), _number(page.height), fonts.encode()),
        *(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % font.encode()
          for font in FONTS),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Title %s /Author %s /Subject %s /Producer (Guichet) /CreationDate (D:%s) >>" % (
            _text_string(title), _text_string(author), _text_string(subject),
            created.strftime("%Y%m%d%H%M%SZ").encode()),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n\r\n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref_at)
    return bytes(out)
