"""Shared fixtures: one app per session on SQLite or PostgreSQL, clean tables per test, users and tokens.

Set GUICHET_TEST_DATABASE_URL to run on PostgreSQL (make test does both). With
GUICHET_REQUIRE_SERVICES=1 a missing server fails the run instead of skipping.
"""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

REQUIRE_SERVICES = os.environ.get("GUICHET_REQUIRE_SERVICES") == "1"
TEST_DATABASE_URL = os.environ.get("GUICHET_TEST_DATABASE_URL", "")
DATA = Path(__file__).parent / "data"


def service_missing(what: str) -> None:
    """Fail (CI) or skip (a developer's machine) when a server the test needs is not there."""
    message = f"{what} is not reachable"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and GUICHET_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{message}; start it or set GUICHET_REQUIRE_SERVICES=1 to make this a failure")


def port_open(host: str, port: int) -> bool:
    """True when something listens on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """host:port of an S3-compatible server (moto) started on 127.0.0.1 for the test session."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def minio_storage(s3_endpoint: str) -> Any:
    """A MinioStorage on a fresh bucket name (not created yet)."""
    import uuid

    from app.storage import MinioStorage

    return MinioStorage(s3_endpoint, "testing-access-key", "testing-secret-key",
                        f"guichet-test-{uuid.uuid4().hex[:12]}", secure=False, region="us-east-1")


@pytest.fixture
def app_on_s3(app: Any, minio_storage: Any) -> Iterator[Any]:
    """The app storing documents in `minio_storage` for one test (then back to its default store)."""
    from app.services.documents_storage import set_storage

    set_storage(app, minio_storage)
    try:
        yield minio_storage
    finally:
        set_storage(app, None)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    # Tests that never build the app touch no database: the PostgreSQL pass leaves them out.
    for item in items:
        if "app" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.nodb)
    if not TEST_DATABASE_URL.startswith("postgresql"):
        # Checks of PostgreSQL-only features (the `postgresql` fixture) belong to the PostgreSQL pass.
        only_there = [item for item in items if "postgresql" in getattr(item, "fixturenames", ())]
        if only_there:
            config.hook.pytest_deselected(items=only_there)
            items[:] = [item for item in items if item not in only_there]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL.startswith("postgresql"):
        try:
            _reset_postgres(TEST_DATABASE_URL)
        except Exception as exc:  # noqa: BLE001
            service_missing(f"PostgreSQL at {TEST_DATABASE_URL} ({type(exc).__name__})")
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'guichet.db'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from flask_migrate import upgrade

    from app import create_app

    data_dir = tmp_path_factory.mktemp("data")
    flask_app = create_app(
        DATA_DIR=str(data_dir), DATABASE_URL=database_url, SECRET_KEY="test-secret", TESTING=True,
        WTF_CSRF_ENABLED=False, BROKER_URL="memory://", CELERY_EAGER=False,
    )
    with flask_app.app_context():
        upgrade(directory=str(Path(flask_app.root_path) / "migrations"), revision="heads")
    yield flask_app


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the database starts from empty tables (and commits freely)."""
    yield
    if "app" not in request.fixturenames:
        return
    flask_app = request.getfixturevalue("app")
    from app.extensions import db

    with flask_app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.session.remove()


@pytest.fixture
def app_ctx(app: Any) -> Iterator[Any]:
    with app.app_context():
        yield app
        from app.extensions import db
        db.session.remove()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


_HASH_CACHE: dict[str, str] = {}


@pytest.fixture
def make_user(app: Any) -> Any:
    """make_user(name, role='agent', queues=(), password='pw-secret') -> username (committed)."""
    from app.extensions import db
    from app.models import User
    from app.services.users import ensure_queues, hash_password

    def _make(name: str, role: str = "agent", queues: tuple[str, ...] | list[str] = (),
              password: str = "pw-secret") -> str:
        with app.app_context():
            if password not in _HASH_CACHE:
                _HASH_CACHE[password] = hash_password(password)
            user = User(username=name, role=role, password_hash=_HASH_CACHE[password])
            user.queues = ensure_queues(sorted(set(queues)))
            db.session.add(user)
            db.session.commit()
            db.session.remove()
        return name

    return _make


class Api:
    """A test client speaking the REST API as one user."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        if json is not None:
            kw["json"] = json
        return self.client.post(f"/api/v1{path}", headers=self.headers, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers, **kw)

    def deploy(self, *paths: Path | tuple[str, bytes]) -> Any:
        import io
        files = []
        for p in paths:
            name, content = (p.name, p.read_bytes()) if isinstance(p, Path) else p
            files.append((io.BytesIO(content), name))
        return self.client.post("/api/v1/deployments", headers=self.headers, data={"files": files},
                                content_type="multipart/form-data")


@pytest.fixture
def login(client: Any, make_user: Any) -> Any:
    """login(name, role='agent', queues=()) -> Api for a new user with that role."""

    def _login(name: str, role: str = "agent", queues: tuple[str, ...] | list[str] = ()) -> Api:
        make_user(name, role, queues)
        response = client.post("/api/v1/auth/token", json={"username": name, "password": "pw-secret"})
        assert response.status_code == 200, response.get_json()
        return Api(client, response.get_json()["access_token"])

    return _login


@pytest.fixture
def admin(login: Any) -> Api:
    return login("root", "admin")


@pytest.fixture
def analyst(login: Any) -> Api:
    return login("ana", "analyst")


class LiveServer:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    """The app served by a threaded WSGI server on 127.0.0.1 (for parallel clients and browsers)."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)
