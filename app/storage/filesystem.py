"""Content-addressed object storage in a local directory (the embedded default)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from .base import (
    ObjectNotFoundError,
    StorageError,
    StoredObject,
    copy_hashing,
    validate_key,
)

# Bytes hashed and written at a time (the upload is in memory already; bounded by its limit).
WRITE_PIECE = 8 * 1024 * 1024
# Incoming bytes are spooled here before their hash (and so their final name) is known.
# It sits under the root so os.replace stays on one filesystem and is atomic.
INCOMING_DIR = ".incoming"


class FilesystemStorage:
    """Objects under root/ab/cd/abcd...; writes are atomic, identical content is stored once."""

    def __init__(self, root: Path | str, *, drop_cache: bool = True) -> None:
        self.root = Path(root)
        # Once a file is on disk (fsync), the web process has no use for its pages in memory:
        # an original is read again by an OCR worker, maybe on another machine, or on a rare
        # download. Dropping them keeps the page cache from growing by the size of every
        # upload, which costs CPU too: taking fresh pages for 2 MB took ~5 ms against ~0.4 ms
        # when the kernel can reuse the ones just dropped (measured on a 2-core VM).
        self.drop_cache = drop_cache

    def _path(self, key: str) -> Path:
        validate_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _incoming(self) -> Path:
        path = self.root / INCOMING_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _temporary_file(self) -> tuple[int, Path]:
        incoming = self.root / INCOMING_DIR
        try:
            try:
                fd, name = tempfile.mkstemp(dir=incoming, prefix="put-", suffix=".part")
            except FileNotFoundError:  # first write, or the directory was removed
                self._incoming()
                fd, name = tempfile.mkstemp(dir=incoming, prefix="put-", suffix=".part")
        except OSError as exc:
            raise StorageError(f"cannot create a temporary file: {exc.strerror}") from exc
        return fd, Path(name)

    def put_stream(
        self, stream: BinaryIO, *, content_type: str, max_bytes: int | None = None
    ) -> StoredObject:
        """Store the stream's bytes under their SHA-256; nothing is left behind on failure."""
        fd, tmp = self._temporary_file()
        try:
            with os.fdopen(fd, "wb") as out:
                # Large pieces: every hash update and write lets other threads take the GIL, and
                # getting it back costs up to a switch interval when the process is busy.
                sha256, size = copy_hashing(stream, out.write, max_bytes, WRITE_PIECE)
                out.flush()
                os.fchmod(out.fileno(), 0o644)
                os.fsync(out.fileno())
                if self.drop_cache:
                    _drop_cached_pages(out.fileno())
            final = self._path(sha256)
            if _size_of(final) == size:
                # Same content already stored: keep the existing file.
                tmp.unlink()
            else:
                # Atomic: readers see either no object or the whole object. Two writers of
                # the same content replace each other with identical bytes.
                try:
                    os.replace(tmp, final)
                except FileNotFoundError:  # the fan-out directories do not exist yet
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, final)
                    # The new directories' own entries must reach the disk too.
                    _fsync_dir(final.parent.parent)
                    _fsync_dir(self.root)
                _fsync_dir(final.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return StoredObject(key=sha256, sha256=sha256, size=size, content_type=content_type)

    def open(self, key: str) -> BinaryIO:
        """Open the object for reading."""
        path = self._path(key)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise ObjectNotFoundError(key) from None

    def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under the key."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Delete the object (no error when it is missing)."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """Local files have no presigned URL: the application serves them itself."""
        validate_key(key)
        return None

    def check(self) -> bool:
        """True when the root exists (or can be created) and is writable."""
        try:
            incoming = self._incoming()
        except OSError:
            return False
        return os.access(self.root, os.W_OK) and os.access(incoming, os.W_OK)

    def __repr__(self) -> str:
        return f"FilesystemStorage({str(self.root)!r})"


def _size_of(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _drop_cached_pages(fd: int) -> None:
    """Tell the kernel the file's (clean, already synced) pages will not be read again soon."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    try:
        advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
