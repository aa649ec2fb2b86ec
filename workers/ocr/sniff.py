"""Media type from the first bytes of a file, never from its name."""
from __future__ import annotations

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"

SUPPORTED_MEDIA_TYPES = frozenset({PDF, PNG, JPEG, TIFF})
# How many leading bytes sniff_media_type looks at.
SNIFF_BYTES = 1024

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),  # little-endian TIFF
    (b"MM\x00*", TIFF),  # big-endian TIFF
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
)


def sniff_media_type(head: bytes) -> str | None:
    """Return the media type the magic bytes announce (PDF, PNG, JPEG, TIFF) or None."""
    head = bytes(head[:SNIFF_BYTES])
    for prefix, media_type in _PREFIXES:
        if head.startswith(prefix):
            return media_type
    # Readers accept a PDF header anywhere in the first 1024 bytes (some generators
    # put junk first), so do the same.
    if b"%PDF-" in head:
        return PDF
    return None
