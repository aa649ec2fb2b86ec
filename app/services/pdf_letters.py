"""Letters as PDF for the `pdf.render` operation: a text template filled with variables, laid out by reportlab.

Templates are Jinja text files in app/templates/letters/<name>.txt (rendered in a sandbox) or a
`text` given inline; blank lines separate paragraphs. The PDF bytes go to the object store
(`build_storage`), content-addressed; the caller gets a reference to them. Rendering is
deterministic (reportlab's invariant mode): a retried job stores the very same object.
"""
from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from app.storage import build_storage

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "letters"
_NAME = re.compile(r"^[a-z0-9_\-]{1,80}$")
MAX_TEXT = 200_000


class LetterTemplateError(ValueError):
    """The template is unknown or does not render with these variables."""


@dataclass(frozen=True)
class StoredPdf:
    """Where a rendered PDF lives: its object key (the SHA-256 of its bytes), size and suggested name."""

    objectKey: str
    sha256: str
    size: int
    contentType: str
    filename: str
    pages: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def fill_template(template: str | None, text: str | None, variables: Mapping[str, Any]) -> str:
    """The letter's text: the named template (or the inline text) rendered with the variables."""
    if template:
        if not _NAME.match(template):
            raise LetterTemplateError(f"invalid template name {template!r}")
        path = TEMPLATE_DIR / f"{template}.txt"
        if not path.is_file():
            raise LetterTemplateError(f"no letter template {template!r}")
        source = path.read_text(encoding="utf-8")
    elif isinstance(text, str):
        source = text
    else:
        raise LetterTemplateError("give `template` (a letter template name) or `text`")
    if len(source) > MAX_TEXT:
        raise LetterTemplateError("the template is too long")
    try:
        return _env.from_string(source).render(**dict(variables))
    except TemplateError as exc:
        raise LetterTemplateError(f"the template does not render: {exc}") from exc


def render_pdf(title: str, body: str, *, institution: str, reference: str | None = None,
               on: date | None = None) -> tuple[bytes, int]:
    """A4 letter: institution, date and reference, title, paragraphs; (pdf bytes, page count)."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pages: list[int] = []
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=title, author=institution, invariant=1)
    story: list[Any] = [Paragraph(escape(institution), styles["Heading2"])]
    header = (on or date.today()).isoformat() + (f" — Réf. {escape(reference)}" if reference else "")
    story += [Paragraph(header, styles["Normal"]), Spacer(1, 8 * mm), Paragraph(escape(title), styles["Heading1"])]
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        if paragraph.strip():
            story += [Paragraph(escape(paragraph.strip()).replace("\n", "<br/>"), styles["BodyText"]),
                      Spacer(1, 3 * mm)]
    doc.build(story, onFirstPage=lambda c, d: pages.append(1), onLaterPages=lambda c, d: pages.append(1))
    return buffer.getvalue(), len(pages)


def store_pdf(config: Mapping[str, Any], data: bytes, filename: str, pages: int) -> StoredPdf:
    """Put PDF bytes in the object store; the reference the process keeps."""
    stored = build_storage(config).put_stream(io.BytesIO(data), content_type="application/pdf")
    return StoredPdf(objectKey=stored.key, sha256=stored.sha256, size=stored.size, contentType="application/pdf",
                     filename=filename, pages=pages)
