"""Reading multipart uploads for the API and the pages alike (limits checked while reading)."""
from __future__ import annotations

from flask import current_app, request

from app.errors import BadRequestError, PayloadTooLargeError


def read_deployment_files() -> list[tuple[str, bytes]]:
    """The (name, bytes) of every file in the multipart field `files`, each within MAX_DEPLOYMENT_BYTES."""
    uploads = request.files.getlist("files")
    if not uploads:
        raise BadRequestError("no files: send them in the multipart field `files`",
                              [{"field": "files", "message": "at least one file"}])
    limit = current_app.config["MAX_DEPLOYMENT_BYTES"]
    files = []
    for upload in uploads:
        content = upload.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLargeError(f"{upload.filename}: files are limited to {limit} bytes")
        files.append((upload.filename or "", content))
    return files
