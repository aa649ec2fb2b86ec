"""What the pipeline returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Method = Literal["text_layer", "tesseract"]


@dataclass(frozen=True)
class PageText:
    """Text of one page.

    number: 1-based page number. confidence: 0-100 (100 for a text layer; for tesseract
    the mean word confidence weighted by word length). rotation: clockwise degrees
    (0/90/180/270) the page was turned to read upright. skew: degrees the content was
    tilted counter-clockwise (corrected by turning it back).
    """

    number: int
    text: str
    confidence: float
    method: Method
    rotation: int = 0
    skew: float = 0.0


@dataclass(frozen=True)
class OcrResult:
    """Text of a document, page by page."""

    pages: list[PageText] = field(default_factory=list)
    media_type: str = ""

    @property
    def text(self) -> str:
        """All pages, separated by form feeds (one per page break)."""
        return "\f".join(page.text for page in self.pages)

    @property
    def confidence(self) -> float:
        """Mean page confidence weighted by page text length (0 when there is no text)."""
        total = sum(len(page.text) for page in self.pages)
        if total == 0:
            return 0.0
        return sum(page.confidence * len(page.text) for page in self.pages) / total
