"""The lean multipart reader (app/multipart.py) reads what werkzeug's parser reads, and hands it the rest."""
from __future__ import annotations

import io
import random

import pytest
from flask import Flask, request

from app.errors import AppError, BadRequestError, PayloadTooLargeError
from app.multipart import (
    FilePart,
    MultipartForm,
    _parse_with_werkzeug,
    _Unusual,
    parse_multipart,
    read_multipart_form,
)

BOUNDARY = b"----guichet-test-7b3c"


def part(name: str, value: bytes, filename: str | None = None, content_type: str | None = None,
         extra_headers: bytes = b"") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    headers = b"Content-Disposition: " + disposition.encode() + b"\r\n"
    if content_type:
        headers += b"Content-Type: " + content_type.encode() + b"\r\n"
    return b"--" + BOUNDARY + b"\r\n" + headers + extra_headers + b"\r\n" + value + b"\r\n"


def body(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + b"--" + BOUNDARY + b"--\r\n" + epilogue


def werkzeug_form(data: bytes) -> MultipartForm:
    """The reference: werkzeug's parser, as the lean reader falls back to it."""
    return _parse_with_werkzeug(data, BOUNDARY, len(data) + 1, None)


def test_fields_and_a_binary_file() -> None:
    pdf = b"%PDF-1.4\r\n\x00\xff binary\r\n--not-the-boundary\r\n%%EOF"
    data = body(part("documentType", b"payslip"), part("subject", "Hélène".encode()),
                part("file", pdf, "scan 1.pdf", "application/pdf"))
    form = parse_multipart(data, BOUNDARY)
    assert form.fields == {"documentType": "payslip", "subject": "Hélène"}
    assert form.files["file"].data == pdf
    assert form.files["file"].filename == "scan 1.pdf"
    assert form.files["file"].content_type == "application/pdf"
    assert form == werkzeug_form(data)


def test_preamble_epilogue_empty_values_and_first_of_two() -> None:
    data = body(part("subject", b""), part("documentType", b"other"), part("documentType", b"payslip"),
                part("file", b"", ""), preamble=b"This is a preamble.\r\n", epilogue=b"an epilogue")
    form = parse_multipart(data, BOUNDARY)
    assert form.fields == {"subject": "", "documentType": "other"}
    assert form.files["file"].data == b"" and form.files["file"].filename == ""
    assert form == werkzeug_form(data)


def test_werkzeug_test_client_empty_value_without_its_line_break() -> None:
    # werkzeug's test client writes an empty value as the blank line directly followed by the delimiter.
    data = (b"\r\n--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="subject"\r\n\r\n--' + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="n"\r\n\r\n1\r\n--' + BOUNDARY + b"--\r\n")
    assert parse_multipart(data, BOUNDARY).fields == {"subject": "", "n": "1"} == werkzeug_form(data).fields


def test_file_names_are_unquoted_like_werkzeug_does() -> None:
    names = ['..\\\\..\\\\evil.pdf', "..\\\\x.pdf", "a\\\"b.pdf", "naïve résumé.pdf", "semi;colon.pdf"]
    for name in names:
        data = body(part("file", b"x", name))
        assert parse_multipart(data, BOUNDARY).files["file"].filename == werkzeug_form(data).files["file"].filename
    rfc2231 = (b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; name=\"file\"; "
               b"filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n")
    assert parse_multipart(rfc2231, BOUNDARY).files["file"].filename == "résumé.pdf"


@pytest.mark.parametrize("data", [
    body(part("file", b"x", "a.pdf")).replace(b"\r\n", b"\n"),  # LF line breaks
    b"--" + BOUNDARY + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n",  # no disposition
    b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
    b"no delimiter at all",
    b"--" + BOUNDARY + b'junk\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--' + BOUNDARY + b"--",
    b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nx\r\n--' + BOUNDARY + b"--",
])
def test_unusual_shapes_are_left_to_werkzeug(data: bytes) -> None:
    with pytest.raises(_Unusual):
        parse_multipart(data, BOUNDARY)


def test_random_forms_read_as_they_were_written_and_as_werkzeug_reads_them() -> None:
    rng = random.Random(4)
    werkzeug_refused = 0
    for _ in range(300):
        parts, expected = [], MultipartForm()
        for n in range(rng.randint(1, 4)):
            value = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
            # Then bytes that look like a delimiter but are not one (not at the start of a line, or a
            # shorter boundary); a real delimiter may never occur in a part (RFC 2046).
            value += b"x" + rng.choice([b"", b"--" + BOUNDARY, b"\r\n--" + BOUNDARY[:-1], b"\r\n\r\n", b"\r"])
            if rng.random() < 0.5:
                parts.append(part(f"file{n}", value, f"f{n}.bin", "application/octet-stream"))
                expected.add_file(f"file{n}", FilePart(f"f{n}.bin", "application/octet-stream", value))
            else:
                text = value.decode("latin-1")
                parts.append(part(f"field{n}", text.encode("utf-8")))
                expected.add_field(f"field{n}", text)
        data = body(*parts, preamble=rng.choice([b"", b"pre\r\n"]), epilogue=rng.choice([b"", b"post"]))
        assert parse_multipart(data, BOUNDARY) == expected
        try:
            assert werkzeug_form(data) == expected
        except ValueError:
            # werkzeug's incremental parser trips on a value ending with a near-boundary
            # ("\r\n--" + the boundary less its last byte) just before the real delimiter.
            werkzeug_refused += 1
    assert werkzeug_refused < 10


# -- reading the body from a request ------------------------------------------------------------

@pytest.fixture
def reader_app() -> Flask:
    app = Flask(__name__)

    @app.post("/read")
    def read():  # type: ignore[no-untyped-def]
        try:
            form = read_multipart_form(request, app.config.get("READ_LIMIT", 10_000))
        except AppError as exc:
            return {"status": exc.status, "detail": exc.detail}, exc.status
        return {"fields": form.fields, "files": {k: len(v.data) for k, v in form.files.items()}}

    return app


def post(app: Flask, data: bytes, **headers: str):  # type: ignore[no-untyped-def]
    sent = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return app.test_client().post("/read", input_stream=io.BytesIO(data), headers=sent)


def test_read_from_a_request_with_or_without_a_length(reader_app: Flask) -> None:
    data = body(part("documentType", b"other"), part("file", b"%PDF-1.4 x", "a.pdf"))
    answer = post(reader_app, data, Content_Length=str(len(data)))
    assert answer.get_json() == {"fields": {"documentType": "other"}, "files": {"file": 10}}
    chunked = reader_app.test_client().post(
        "/read", input_stream=io.BytesIO(data), environ_overrides={"wsgi.input_terminated": True},
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}",
                 "Transfer-Encoding": "chunked"})
    assert chunked.get_json() == {"fields": {"documentType": "other"}, "files": {"file": 10}}


def test_limits_and_short_bodies(reader_app: Flask) -> None:
    big = body(part("file", b"0" * 20_000, "big.pdf"))
    assert post(reader_app, big, Content_Length=str(len(big))).status_code == PayloadTooLargeError.status
    chunked_big = reader_app.test_client().post(
        "/read", input_stream=io.BytesIO(big), environ_overrides={"wsgi.input_terminated": True},
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}",
                 "Transfer-Encoding": "chunked"})
    assert chunked_big.status_code == PayloadTooLargeError.status
    data = body(part("a", b"x"))
    # The client announced more than it sent (it went away): werkzeug's test client would correct the
    # length, so it is set in the environ.
    short = reader_app.test_client().post(
        "/read", input_stream=io.BytesIO(data), environ_overrides={"CONTENT_LENGTH": str(len(data) + 100)},
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"})
    assert short.status_code == BadRequestError.status and "ended early" in short.get_json()["detail"]
    no_boundary = post(reader_app, data, Content_Type="multipart/form-data", Content_Length=str(len(data)))
    assert no_boundary.status_code == BadRequestError.status
    malformed = b"--" + BOUNDARY + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n"
    assert post(reader_app, malformed, Content_Length=str(len(malformed))).status_code == BadRequestError.status


def test_the_bounds_of_flask_form_parsing_apply(reader_app: Flask) -> None:
    # werkzeug applies MAX_FORM_MEMORY_SIZE to each 64 kB piece it reads, so the limit is above that.
    reader_app.config.update(MAX_FORM_MEMORY_SIZE=70_000, MAX_FORM_PARTS=3, READ_LIMIT=200_000)
    for shape in (lambda b: b, lambda b: b.replace(b"\r\n", b"\n")):  # the fast path and werkzeug's
        long_field = shape(body(part("subject", b"1" * 70_001), part("file", b"x" * 5000, "a.pdf")))
        assert post(reader_app, long_field).status_code == PayloadTooLargeError.status
        many = shape(body(*(part("a", b"x") for _ in range(4))))
        assert post(reader_app, many).status_code == PayloadTooLargeError.status
        fine = shape(body(part("subject", b"1" * 70_000), part("b", b"x"), part("file", b"x" * 5000, "a.pdf")))
        assert post(reader_app, fine).status_code == 200, shape
