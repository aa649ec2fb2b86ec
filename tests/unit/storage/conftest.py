"""Fixtures for the object storage tests: a local S3 server (moto) on 127.0.0.1."""
from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """host:port of an S3-compatible server started for the test session."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def minio_storage(s3_endpoint):
    """A MinioStorage on a fresh bucket name (not created yet)."""
    from app.storage import MinioStorage

    return MinioStorage(
        s3_endpoint,
        "testing-access-key",
        "testing-secret-key",
        f"guichet-test-{uuid.uuid4().hex[:12]}",
        secure=False,
        region="us-east-1",
    )
