"""A lean multipart/form-data reader for uploads that are read whole anyway (document intake).

The body is read in large pieces (bounded by a limit, 413 past it) and split on its boundary with
`bytes.find`: a 2 MB file part costs a few copies and one search instead of werkzeug's
event loop over 64 kB pieces. Anything out of the ordinary (line breaks other than CRLF, a
part without Content-Disposition, a missing closing delimiter...) is handed to werkzeug's own
parser on the same bytes, so what is accepted or refused does not change.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import BinaryIO

from flask import Request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header

from app.errors import BadRequestError, PayloadTooLargeError

# One read from a body of unknown length: large, so that it arrives in a few calls.
READ_PIECE = 1024 * 1024
CRLF = b"\r\n"


@dataclass(frozen=True)
class FilePart:
    """A part sent with a file name: the name as given (unsanitised), its declared type, its bytes."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass
class MultipartForm:
    """The text fields and the file parts of a form; a name given twice keeps its first part."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)

    def add_field(self, name: str, value: str) -> None:
        self.fields.setdefault(name, value)

    def add_file(self, name: str, part: FilePart) -> None:
        self.files.setdefault(name, part)


class _Unusual(Exception):
    """The body is not in the plain shape the fast path reads: let werkzeug's parser decide."""


def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole request body; PayloadTooLargeError past max_bytes, without reading far beyond it."""
    announced = request.content_length
    if announced is not None and announced > max_bytes:
        raise PayloadTooLargeError(f"the request body is limited to {max_bytes} bytes")
    if announced is not None:
        # The length is known and within bounds: read the server's stream directly, in as few
        # calls as it allows (werkzeug's wrapper would copy every piece twice more).
        return _read_exactly(request.environ["wsgi.input"], announced)
    # No length (chunked): werkzeug's stream raises RequestEntityTooLarge past max_content_length.
    request.max_content_length = max_bytes
    stream = request.stream
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := stream.read(READ_PIECE):
            size += len(piece)
            if size > max_bytes:
                raise PayloadTooLargeError(f"the request body is limited to {max_bytes} bytes")
            pieces.append(piece)
    except RequestEntityTooLarge:
        raise PayloadTooLargeError(f"the request body is limited to {max_bytes} bytes") from None
    except ClientDisconnected:
        raise BadRequestError("the request body ended early (client disconnected)") from None
    return b"".join(pieces)


def _read_exactly(stream: BinaryIO, length: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    while size < length:
        try:
            piece = stream.read(length - size)
        except OSError:
            piece = b""
        if not piece:
            raise BadRequestError("the request body ended early (client disconnected)")
        size += len(piece)
        pieces.append(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def read_multipart_form(request: Request, max_bytes: int) -> MultipartForm:
    """The fields and files of a multipart/form-data request whose body is at most max_bytes."""
    boundary = request.mimetype_params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadRequestError("multipart/form-data needs a boundary parameter")
    body = read_body(request, max_bytes)
    # The same bounds as Flask's own form parsing (MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS).
    field_limit, parts_limit = request.max_form_memory_size, request.max_form_parts
    try:
        return parse_multipart(body, boundary.encode("latin-1"), field_limit=field_limit, parts_limit=parts_limit)
    except (_Unusual, UnicodeError):
        return _parse_with_werkzeug(body, boundary.encode("latin-1"), field_limit, parts_limit)


def parse_multipart(body: bytes, boundary: bytes, *, field_limit: int | None = None,
                    parts_limit: int | None = None) -> MultipartForm:
    """Split a multipart body in the plain RFC 7578 shape (CRLF everywhere); _Unusual otherwise.

    PayloadTooLargeError for a text field longer than field_limit or more parts than parts_limit.
    """
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        position = len(delimiter)
    else:  # a preamble before the first delimiter
        found = body.find(CRLF + delimiter)
        if found < 0:
            raise _Unusual("no first delimiter")
        position = found + 2 + len(delimiter)
    separator = CRLF + delimiter
    form = MultipartForm()
    parts = 0
    while True:
        if body.startswith(b"--", position):
            return form  # closing delimiter; whatever follows is the epilogue
        parts += 1
        if parts_limit is not None and parts > parts_limit:
            raise PayloadTooLargeError(f"at most {parts_limit} form parts")
        line_end = body.find(CRLF, position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise _Unusual("junk after a delimiter")
        headers_end = body.find(CRLF + CRLF, line_end)
        if headers_end < 0:
            raise _Unusual("part headers do not end")
        headers = _part_headers(body[line_end + 2 : headers_end])
        content_start = headers_end + 4
        # Searching from the blank line's own CRLF: some clients (werkzeug's test client) write
        # an empty value as the blank line directly followed by the delimiter.
        next_separator = body.find(separator, headers_end + 2)
        if next_separator < 0:
            raise _Unusual("part does not end")
        content_end = max(next_separator, content_start)
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise _Unusual("part without Content-Disposition")
        _kind, options = parse_options_header(disposition)
        name = options.get("name")
        if name is not None:
            if "filename" in options:
                form.add_file(name, FilePart(options["filename"], headers.get("content-type"),
                                             body[content_start:content_end]))
            else:
                if field_limit is not None and content_end - content_start > field_limit:
                    raise PayloadTooLargeError(f"form fields are limited to {field_limit} bytes")
                form.add_field(name, body[content_start:content_end].decode("utf-8", "replace"))
        position = next_separator + len(separator)


def _part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    if not block:
        return headers
    for line in block.split(CRLF):
        if line[:1] in (b" ", b"\t"):
            raise _Unusual("folded header line")
        name, colon, value = line.decode("utf-8").partition(":")
        if not colon:
            raise _Unusual("header line without a colon")
        headers.setdefault(name.strip(" \t").lower(), value.strip(" \t"))
    return headers


def _parse_with_werkzeug(body: bytes, boundary: bytes, field_limit: int | None,
                         parts_limit: int | None) -> MultipartForm:
    parser = MultiPartParser(max_form_memory_size=field_limit, max_form_parts=parts_limit)
    try:
        fields, files = parser.parse(io.BytesIO(body), boundary, len(body))
    except RequestEntityTooLarge:
        raise PayloadTooLargeError("a form field or the number of parts is over the limit") from None
    except ValueError:
        raise BadRequestError("the multipart body is malformed",
                              [{"field": "file", "message": "malformed multipart body"}]) from None
    form = MultipartForm()
    for name, value in fields.items(multi=True):
        form.add_field(name, value)
    for name, storage in files.items(multi=True):
        form.add_file(name, FilePart(storage.filename or "", storage.content_type, storage.stream.read()))
    return form
