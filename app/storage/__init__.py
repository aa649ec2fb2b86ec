"""Object storage: a content-addressed ObjectStorage protocol and its backends."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import (
    EmptyObjectError,
    InvalidKeyError,
    ObjectNotFoundError,
    ObjectStorage,
    ObjectTooLargeError,
    StorageError,
    StoredObject,
    validate_key,
)
from .filesystem import FilesystemStorage
from .minio import MinioStorage

__all__ = [
    "EmptyObjectError",
    "FilesystemStorage",
    "InvalidKeyError",
    "MinioStorage",
    "ObjectNotFoundError",
    "ObjectStorage",
    "ObjectTooLargeError",
    "StorageError",
    "StoredObject",
    "build_storage",
    "validate_key",
]

_TRUE = {"1", "true", "yes", "on"}


def build_storage(settings: Mapping[str, Any]) -> ObjectStorage:
    """MinioStorage when S3_ENDPOINT is set, else FilesystemStorage under DATA_DIR/objects."""
    endpoint = settings.get("S3_ENDPOINT")
    if endpoint:
        secure = settings.get("S3_SECURE", False)
        if isinstance(secure, str):
            secure = secure.strip().lower() in _TRUE
        return MinioStorage(
            str(endpoint),
            settings.get("S3_ACCESS_KEY"),
            settings.get("S3_SECRET_KEY"),
            settings.get("S3_BUCKET") or "guichet",
            secure=bool(secure),
            region=settings.get("S3_REGION") or None,
        )
    data_dir = settings.get("DATA_DIR") or "var"
    return FilesystemStorage(Path(data_dir) / "objects")

