"""The object storage contract shared by every backend.

Objects are content-addressed: the key of an object is the lowercase hex SHA-256 of its
bytes, so identical content is stored once and a key can never name a path.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO, Protocol, runtime_checkable

CHUNK_SIZE = 1024 * 1024
KEY_PATTERN = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """Base class of every object storage failure."""


class ObjectNotFoundError(StorageError):
    """No object is stored under that key."""


class ObjectTooLargeError(StorageError):
    """The stream is longer than the size limit given to put_stream."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"object larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class EmptyObjectError(StorageError):
    """The stream held zero bytes."""

    def __init__(self) -> None:
        super().__init__("empty object refused")


class InvalidKeyError(StorageError, ValueError):
    """The key is not a lowercase hex SHA-256 digest."""


@dataclass(frozen=True)
class StoredObject:
    """What put_stream stored: the key is the SHA-256 of the bytes."""

    key: str
    sha256: str
    size: int
    content_type: str


@runtime_checkable
class ObjectStorage(Protocol):
    """A content-addressed object store."""

    def put_stream(
        self, stream: BinaryIO, *, content_type: str, max_bytes: int | None = None
    ) -> StoredObject:
        """Store the stream's bytes; nothing is left behind when it fails."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the object for reading (the caller closes it)."""
        ...

    def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under the key."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        ...

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A time-limited download URL, or None when the backend has none."""
        ...

    def check(self) -> bool:
        """Health check: True when the store can be used."""
        ...


def validate_key(key: str) -> str:
    """Return the key when it is a lowercase hex SHA-256 digest, else raise InvalidKeyError."""
    if not isinstance(key, str) or KEY_PATTERN.fullmatch(key) is None:
        raise InvalidKeyError(f"invalid object key {key!r}")
    return key


def copy_hashing(
    stream: BinaryIO,
    write: Callable[[bytes], object],
    max_bytes: int | None,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[str, int]:
    """Copy stream to write() in chunks; return (sha256 hex, size).

    Raises ObjectTooLargeError as soon as more than max_bytes were read (the caller
    discards what was written) and EmptyObjectError for an empty stream.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        # Read at most one byte past the limit per chunk so an oversized body is refused
        # without reading it all.
        want = chunk_size if max_bytes is None else max(1, min(chunk_size, max_bytes - size + 1))
        chunk = stream.read(want)
        if not chunk:
            break
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise ObjectTooLargeError(max_bytes)
        digest.update(chunk)
        write(chunk)
    if size == 0:
        raise EmptyObjectError()
    return digest.hexdigest(), size
