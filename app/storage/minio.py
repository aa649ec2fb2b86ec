"""Content-addressed object storage in MinIO or any S3-compatible server."""
from __future__ import annotations

import io
import tempfile
import threading
from datetime import timedelta
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from .base import (
    CHUNK_SIZE,
    ObjectNotFoundError,
    StorageError,
    StoredObject,
    copy_hashing,
    validate_key,
)

_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NotFound", "ResourceNotFound"}
# Spool small uploads in memory, larger ones on disk: the key (the hash) is only known
# once the whole body has been read, so the body must be kept until then.
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


class MinioStorage:
    """Objects in one bucket, named by their SHA-256; the bucket is created on first use."""

    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        # Accept "host:port" as well as "http(s)://host:port".
        if "://" in endpoint:
            parts = urlsplit(endpoint)
            secure = parts.scheme == "https"
            endpoint = parts.netloc
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=urllib3.Retry(
                total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
            maxsize=10,
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http_client,
        )
        self._bucket_ready = False
        self._lock = threading.Lock()

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._lock:
            if self._bucket_ready:
                return
            try:
                if not self.client.bucket_exists(self.bucket):
                    try:
                        self.client.make_bucket(self.bucket)
                    except S3Error as exc:
                        # Another process created it first.
                        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
            except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise StorageError(f"bucket {self.bucket!r} unavailable: {exc}") from exc
            self._bucket_ready = True

    def put_stream(
        self, stream: BinaryIO, *, content_type: str, max_bytes: int | None = None
    ) -> StoredObject:
        """Spool the stream while hashing it, then upload it under its SHA-256."""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            # Raises before anything reaches the server when the body is empty or too large.
            sha256, size = copy_hashing(stream, spool.write, max_bytes)
            self._ensure_bucket()
            if not self.exists(sha256):
                spool.seek(0)
                try:
                    self.client.put_object(
                        self.bucket,
                        sha256,
                        spool,  # type: ignore[arg-type]
                        length=size,
                        content_type=content_type,
                    )
                except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise StorageError(f"upload of {sha256} failed: {exc}") from exc
        return StoredObject(key=sha256, sha256=sha256, size=size, content_type=content_type)

    def open(self, key: str) -> BinaryIO:
        """Stream the object; closing the returned file releases the connection."""
        validate_key(key)
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise ObjectNotFoundError(key) from None
            raise StorageError(f"download of {key} failed: {exc}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"download of {key} failed: {exc}") from exc
        return io.BufferedReader(_ResponseReader(response), buffer_size=CHUNK_SIZE)  # type: ignore[return-value]

    def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under the key."""
        validate_key(key)
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                return False
            raise StorageError(f"stat of {key} failed: {exc}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"stat of {key} failed: {exc}") from exc
        return True

    def delete(self, key: str) -> None:
        """Delete the object (no error when it is missing)."""
        validate_key(key)
        try:
            self.client.remove_object(self.bucket, key)
        except S3Error as exc:
            if exc.code not in _MISSING_CODES:
                raise StorageError(f"delete of {key} failed: {exc}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"delete of {key} failed: {exc}") from exc

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A presigned GET URL valid for `expires` (at most 7 days, the S3 limit)."""
        validate_key(key)
        try:
            return self.client.presigned_get_object(self.bucket, key, expires=expires)
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise StorageError(f"cannot presign {key}: {exc}") from exc

    def check(self) -> bool:
        """True when the server answers and the bucket exists or could be created."""
        try:
            self._bucket_ready = False
            self._ensure_bucket()
        except StorageError:
            return False
        return True

    def __repr__(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"MinioStorage({scheme}://{self.endpoint}/{self.bucket})"


class _ResponseReader(io.RawIOBase):
    """Raw file over a urllib3 response that returns the connection to the pool on close."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._response.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()
