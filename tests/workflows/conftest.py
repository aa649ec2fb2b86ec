"""Fixtures of the engine adapter tests: one engine, the sample diagrams, and a wait/restore helper."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from workflows import Execution, LoadedSpec, ProcessModel, Snapshot, WorkflowEngine

BPMN = Path(__file__).resolve().parents[1] / "data" / "bpmn"


@pytest.fixture(scope="session")
def engine() -> WorkflowEngine:
    """One engine for the session, as the app builds it once per process."""
    return WorkflowEngine(max_tasks=2000)


def read(*names: str) -> dict[str, bytes]:
    """Sample files by name (invalid ones live in the invalid/ sub-folder)."""
    return {Path(name).name: (BPMN / name).read_bytes() for name in names}


@pytest.fixture()
def deploy(engine: WorkflowEngine) -> Callable[..., dict[str, ProcessModel]]:
    """Parse sample files and return their models by process id."""
    def _deploy(*names: str, known: set[str] | None = None) -> dict[str, ProcessModel]:
        return {m.key: m for m in engine.parse_deployment(read(*names), known_processes=known or set())}
    return _deploy


def step(engine: WorkflowEngine, spec: LoadedSpec, ex: Execution) -> tuple[Execution, Snapshot]:
    """Run until the instance waits, snapshot, and restore from the stored state like the app does."""
    ex.run()
    snap = ex.snapshot()
    return engine.restore(spec, snap.state), snap


@pytest.fixture()
def files() -> Callable[..., dict[str, bytes]]:
    """The read() helper as a fixture (test modules here are not a package)."""
    return read


@pytest.fixture()
def advance(engine: WorkflowEngine) -> Callable[[LoadedSpec, Execution], tuple[Execution, Snapshot]]:
    """The step() helper bound to the session engine."""
    return lambda spec, ex: step(engine, spec, ex)
