"""The application's one object store, built from its config on first use and kept in app.extensions."""
from __future__ import annotations

import threading

from flask import Flask, current_app

from app.storage import ObjectStorage, build_storage

_EXTENSION_KEY = "guichet_storage"
_lock = threading.Lock()


def storage_for(app: Flask) -> ObjectStorage:
    """The object store of this app (FilesystemStorage by default, MinioStorage with S3_ENDPOINT)."""
    storage = app.extensions.get(_EXTENSION_KEY)
    if storage is None:
        with _lock:
            storage = app.extensions.get(_EXTENSION_KEY)
            if storage is None:
                storage = build_storage(app.config)
                app.extensions[_EXTENSION_KEY] = storage
    return storage  # type: ignore[no-any-return]


def get_storage() -> ObjectStorage:
    """The object store of the current app."""
    return storage_for(current_app._get_current_object())  # type: ignore[attr-defined]


def set_storage(app: Flask, storage: ObjectStorage | None) -> None:
    """Replace (or, with None, forget) the app's object store: tests and tools."""
    if storage is None:
        app.extensions.pop(_EXTENSION_KEY, None)
    else:
        app.extensions[_EXTENSION_KEY] = storage
