"""FilesystemStorage: content addressing, atomic writes, refusals that leave nothing."""
from __future__ import annotations

import hashlib
import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.storage import (
    EmptyObjectError,
    FilesystemStorage,
    InvalidKeyError,
    ObjectNotFoundError,
    ObjectStorage,
    ObjectTooLargeError,
    StorageError,
    StoredObject,
    build_storage,
)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


class OneByteAtATime(io.RawIOBase):
    """A stream that returns short reads, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos >= len(self._data):
            return 0
        buffer[0] = self._data[self._pos]
        self._pos += 1
        return 1

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._data):
            return b""
        chunk = self._data[self._pos : self._pos + 1]
        self._pos += 1
        return chunk


@pytest.fixture
def storage(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "objects")


def test_round_trip(storage: FilesystemStorage) -> None:
    data = b"%PDF-1.4 hello" * 1000
    stored = storage.put_stream(io.BytesIO(data), content_type="application/pdf")
    digest = hashlib.sha256(data).hexdigest()
    assert stored == StoredObject(key=digest, sha256=digest, size=len(data), content_type="application/pdf")
    assert storage.exists(stored.key)
    assert storage.read(stored.key) == data
    with storage.open(stored.key) as fh:
        assert fh.read() == data
    assert storage.presigned_url(stored.key, timedelta(minutes=5)) is None


def test_fan_out_layout(storage: FilesystemStorage) -> None:
    stored = storage.put_stream(io.BytesIO(b"abc"), content_type="text/plain")
    key = stored.key
    assert (storage.root / key[:2] / key[2:4] / key).read_bytes() == b"abc"
    assert files_under(storage.root) == [storage.root / key[:2] / key[2:4] / key]


def test_chunked_and_short_reads(storage: FilesystemStorage) -> None:
    data = bytes(range(256)) * 20_000  # 5 MB, several chunks
    stored = storage.put_stream(io.BytesIO(data), content_type="application/octet-stream")
    assert stored.size == len(data)
    assert storage.read(stored.key) == data
    small = b"short reads"
    stored = storage.put_stream(OneByteAtATime(small), content_type="text/plain", max_bytes=len(small))
    assert storage.read(stored.key) == small


def test_identical_content_stored_once(storage: FilesystemStorage) -> None:
    first = storage.put_stream(io.BytesIO(b"same bytes"), content_type="text/plain")
    second = storage.put_stream(io.BytesIO(b"same bytes"), content_type="application/octet-stream")
    assert first.key == second.key
    assert second.content_type == "application/octet-stream"
    assert len(files_under(storage.root)) == 1


def test_exactly_max_bytes_is_accepted(storage: FilesystemStorage) -> None:
    stored = storage.put_stream(io.BytesIO(b"x" * 100), content_type="text/plain", max_bytes=100)
    assert stored.size == 100


def test_too_large_leaves_nothing(storage: FilesystemStorage) -> None:
    with pytest.raises(ObjectTooLargeError) as info:
        storage.put_stream(io.BytesIO(b"x" * 5_000_000), content_type="text/plain", max_bytes=1_000_000)
    assert info.value.max_bytes == 1_000_000
    assert isinstance(info.value, StorageError)
    assert files_under(storage.root) == []


def test_too_large_stops_reading_early(storage: FilesystemStorage) -> None:
    class Endless(io.RawIOBase):
        read_total = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            size = 65536 if size is None or size < 0 else size
            Endless.read_total += size
            return b"z" * size

    with pytest.raises(ObjectTooLargeError):
        storage.put_stream(Endless(), content_type="text/plain", max_bytes=3 * 1024 * 1024)
    # A "2 GB body" is refused after the limit, not after the whole body.
    assert Endless.read_total <= 3 * 1024 * 1024 + 1
    assert files_under(storage.root) == []


def test_empty_refused(storage: FilesystemStorage) -> None:
    with pytest.raises(EmptyObjectError):
        storage.put_stream(io.BytesIO(b""), content_type="text/plain")
    assert files_under(storage.root) == []


def test_failing_stream_leaves_nothing(storage: FilesystemStorage) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            Broken.calls += 1
            if Broken.calls > 2:
                raise ConnectionResetError("client went away")
            return b"a" * 1000

    with pytest.raises(ConnectionResetError):
        storage.put_stream(Broken(), content_type="text/plain")
    assert files_under(storage.root) == []


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "ab/../../x",
        "",
        "A" * 64,  # upper case is not a digest we produce
        "g" * 64,
        "a" * 63,
        "a" * 65,
        "/" + "a" * 63,
        "a" * 63 + "\n",
    ],
)
def test_bad_key_refused(storage: FilesystemStorage, key: str) -> None:
    for call in (storage.open, storage.read, storage.exists, storage.delete):
        with pytest.raises(InvalidKeyError):
            call(key)
    with pytest.raises(InvalidKeyError):
        storage.presigned_url(key, timedelta(minutes=1))


def test_missing_object(storage: FilesystemStorage) -> None:
    key = "0" * 64
    assert not storage.exists(key)
    with pytest.raises(ObjectNotFoundError):
        storage.read(key)
    storage.delete(key)  # deleting a missing object is not an error


def test_delete(storage: FilesystemStorage) -> None:
    stored = storage.put_stream(io.BytesIO(b"to delete"), content_type="text/plain")
    storage.delete(stored.key)
    assert not storage.exists(stored.key)


def test_concurrent_writes_of_same_content(storage: FilesystemStorage) -> None:
    data = b"concurrent " * 200_000
    barrier = threading.Barrier(8)
    results: list[StoredObject] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            barrier.wait()
            results.append(storage.put_stream(io.BytesIO(data), content_type="text/plain"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {r.key for r in results} == {hashlib.sha256(data).hexdigest()}
    assert len(files_under(storage.root)) == 1
    assert storage.read(results[0].key) == data


def test_concurrent_writes_in_processes(storage: FilesystemStorage) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        keys = pool.starmap(_put_in_process, [(str(storage.root), i % 2) for i in range(8)])
    assert len(set(keys)) == 2
    assert len(files_under(storage.root)) == 2
    for key in set(keys):
        assert hashlib.sha256(storage.read(key)).hexdigest() == key


def _put_in_process(root: str, variant: int) -> str:
    data = (b"process-%d " % variant) * 300_000
    return FilesystemStorage(Path(root)).put_stream(io.BytesIO(data), content_type="text/plain").key


def test_check(tmp_path: Path) -> None:
    assert FilesystemStorage(tmp_path / "new" / "objects").check()
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    assert not FilesystemStorage(blocker / "objects").check()


def test_is_an_object_storage(storage: FilesystemStorage) -> None:
    assert isinstance(storage, ObjectStorage)


def test_build_storage_filesystem(tmp_path: Path) -> None:
    storage = build_storage({"DATA_DIR": str(tmp_path), "S3_ENDPOINT": ""})
    assert isinstance(storage, FilesystemStorage)
    assert storage.root == tmp_path / "objects"


def test_directories_are_made_again_when_missing(storage: FilesystemStorage) -> None:
    import shutil

    first = storage.put_stream(io.BytesIO(b"first"), content_type="text/plain")
    # Someone cleaned up: the spool directory and the fan-out directories are gone.
    shutil.rmtree(storage.root)
    second = storage.put_stream(io.BytesIO(b"second"), content_type="text/plain")
    assert storage.read(second.key) == b"second"
    assert not storage.exists(first.key)
    assert [p.name for p in (storage.root / ".incoming").iterdir()] == []


@pytest.mark.parametrize("drop_cache", [True, False])
def test_stored_pages_are_dropped_from_the_cache_after_fsync(tmp_path: Path, monkeypatch, drop_cache: bool) -> None:  # type: ignore[no-untyped-def]
    import os

    calls: list[tuple[str, object]] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", fd)), real_fsync(fd))[1])
    if hasattr(os, "posix_fadvise"):
        monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: calls.append(("fadvise", advice)))
    storage = FilesystemStorage(tmp_path / "objects", drop_cache=drop_cache)
    data = bytes(range(256)) * 8192  # 2 MB
    stored = storage.put_stream(io.BytesIO(data), content_type="application/pdf")
    assert storage.read(stored.key) == data
    kinds = [kind for kind, _ in calls]
    # The file is synced before anything else; new fan-out directories are synced after the rename.
    assert kinds[0] == "fsync" and kinds.count("fsync") >= 2
    if drop_cache and hasattr(os, "posix_fadvise"):
        assert kinds[1] == "fadvise" and calls[1][1] == os.POSIX_FADV_DONTNEED
    else:
        assert "fadvise" not in kinds
