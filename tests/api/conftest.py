"""Fixtures of the API tests about documents (the registry they file against, an agent, test pages)."""
from __future__ import annotations

import pytest

from tests.conftest import service_missing
from tests.registry_data import Registry, make_registry
from tests.unit.ocr.conftest import Samples, find_font


@pytest.fixture
def reg(app) -> Registry:  # type: ignore[no-untyped-def]
    return make_registry(app)


@pytest.fixture
def agent(login):  # type: ignore[no-untyped-def]
    return login("alice", "agent", ["counter"])


@pytest.fixture(scope="session")
def samples() -> Samples:
    path = find_font()
    if path is None:
        pytest.skip("no TrueType font to render test pages")
    return Samples(path)


@pytest.fixture(scope="session")
def tesseract() -> None:
    from workers.ocr import tesseract_available

    if not tesseract_available():
        service_missing("tesseract (Debian package tesseract-ocr)")
