"""MinioStorage against an S3-compatible server (moto) on 127.0.0.1."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import requests

from app.storage import (
    EmptyObjectError,
    InvalidKeyError,
    MinioStorage,
    ObjectNotFoundError,
    ObjectStorage,
    ObjectTooLargeError,
    build_storage,
)


def bucket_keys(storage: MinioStorage) -> list[str]:
    return [obj.object_name for obj in storage.client.list_objects(storage.bucket, recursive=True)]


def test_round_trip_creates_bucket(minio_storage: MinioStorage) -> None:
    assert not minio_storage.client.bucket_exists(minio_storage.bucket)
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 50
    stored = minio_storage.put_stream(io.BytesIO(data), content_type="image/png", max_bytes=1_000_000)
    assert minio_storage.client.bucket_exists(minio_storage.bucket)
    digest = hashlib.sha256(data).hexdigest()
    assert (stored.key, stored.sha256, stored.size, stored.content_type) == (
        digest, digest, len(data), "image/png",
    )
    assert minio_storage.exists(stored.key)
    assert minio_storage.read(stored.key) == data
    with minio_storage.open(stored.key) as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
        assert fh.read() == data[8:]


def test_content_type_is_set(minio_storage: MinioStorage) -> None:
    stored = minio_storage.put_stream(io.BytesIO(b"%PDF-1.7 x"), content_type="application/pdf")
    stat = minio_storage.client.stat_object(minio_storage.bucket, stored.key)
    assert stat.content_type == "application/pdf"
    assert stat.size == stored.size


def test_large_object_spooled_to_disk(minio_storage: MinioStorage) -> None:
    data = hashlib.sha256(b"seed").digest() * (12 * 1024 * 1024 // 32)  # 12 MB > in-memory spool
    stored = minio_storage.put_stream(io.BytesIO(data), content_type="application/octet-stream")
    assert minio_storage.read(stored.key) == data


def test_presigned_url_downloads(minio_storage: MinioStorage) -> None:
    data = b"presigned content"
    stored = minio_storage.put_stream(io.BytesIO(data), content_type="text/plain")
    url = minio_storage.presigned_url(stored.key, timedelta(minutes=5))
    assert url and url.startswith("http://127.0.0.1:")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == "text/plain"


def test_too_large_leaves_nothing(minio_storage: MinioStorage) -> None:
    minio_storage.put_stream(io.BytesIO(b"keep me"), content_type="text/plain")
    with pytest.raises(ObjectTooLargeError):
        minio_storage.put_stream(io.BytesIO(b"x" * 2_000_000), content_type="text/plain", max_bytes=1_000_000)
    assert bucket_keys(minio_storage) == [hashlib.sha256(b"keep me").hexdigest()]


def test_empty_refused(minio_storage: MinioStorage) -> None:
    with pytest.raises(EmptyObjectError):
        minio_storage.put_stream(io.BytesIO(b""), content_type="text/plain")
    if minio_storage.client.bucket_exists(minio_storage.bucket):
        assert bucket_keys(minio_storage) == []


def test_dedupe_and_delete(minio_storage: MinioStorage) -> None:
    a = minio_storage.put_stream(io.BytesIO(b"twice"), content_type="text/plain")
    b = minio_storage.put_stream(io.BytesIO(b"twice"), content_type="text/plain")
    assert a.key == b.key
    assert bucket_keys(minio_storage) == [a.key]
    minio_storage.delete(a.key)
    assert not minio_storage.exists(a.key)
    minio_storage.delete(a.key)  # idempotent
    with pytest.raises(ObjectNotFoundError):
        minio_storage.read(a.key)


def test_bad_key_refused(minio_storage: MinioStorage) -> None:
    for call in (minio_storage.open, minio_storage.read, minio_storage.exists, minio_storage.delete):
        with pytest.raises(InvalidKeyError):
            call("../" + "a" * 61)


def test_check(minio_storage: MinioStorage) -> None:
    assert minio_storage.check()
    assert isinstance(minio_storage, ObjectStorage)


def test_check_down_server() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on that port any more.
    storage = MinioStorage(f"127.0.0.1:{port}", "a", "b", "bucket", region="us-east-1", timeout=2, retries=0)
    assert storage.check() is False


def test_build_storage_minio(s3_endpoint: str) -> None:
    storage = build_storage(
        {
            "S3_ENDPOINT": f"http://{s3_endpoint}",
            "S3_ACCESS_KEY": "k",
            "S3_SECRET_KEY": "s",
            "S3_BUCKET": "built",
            "S3_SECURE": "false",
            "S3_REGION": "us-east-1",
            "DATA_DIR": "ignored",
        }
    )
    assert isinstance(storage, MinioStorage)
    assert storage.bucket == "built"
    stored = storage.put_stream(io.BytesIO(b"built"), content_type="text/plain")
    assert storage.read(stored.key) == b"built"
