"""The one WorkflowEngine of the process and a cache of loaded specs per definition version."""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.models import ProcessDefinition
from workflows import LoadedSpec, WorkflowEngine

_engine: WorkflowEngine | None = None
_engine_lock = threading.Lock()
_spec_cache: OrderedDict[tuple[object, ...], LoadedSpec] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 256


def get_engine() -> WorkflowEngine:
    """The engine adapter, built once per process (parser, script environment, serializer)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = WorkflowEngine(max_tasks=int(current_app.config["MAX_INSTANCE_TASKS"]))
    return _engine


_LATEST_DEFINITION = (select(ProcessDefinition).where(ProcessDefinition.key == bindparam("key"))
                      .order_by(ProcessDefinition.version.desc()).limit(1))  # built once: every start runs it


def latest_definition(key: str) -> ProcessDefinition | None:
    """The highest version of a process definition key."""
    return db.session.scalar(_LATEST_DEFINITION, {"key": key})


def definition_version(key: str, version: int) -> ProcessDefinition | None:
    """One version of a process definition key."""
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                             ProcessDefinition.version == version))


def _called_definitions(definition: ProcessDefinition, seen: set[str]) -> dict[str, ProcessDefinition]:
    """Deployed versions of every process the definition calls, transitively: the pinned one, else the latest."""
    found: dict[str, ProcessDefinition] = {}
    pinned = definition.model.get("called_versions") or {}
    for key in definition.model.get("called_processes", []):
        if key in seen or key in found:
            continue
        called = definition_version(key, pinned[key]) if key in pinned else latest_definition(key)
        if called is not None:
            found[key] = called
            found.update(_called_definitions(called, seen | {definition.key, key}))
    return found


def load_spec(definition: ProcessDefinition) -> LoadedSpec:
    """The engine spec of a definition with its called processes, from the cache when possible."""
    called = _called_definitions(definition, {definition.key})
    # Ids alone are not enough: a database emptied and refilled (tests, restores) reuses them.
    cache_key = (definition.id, definition.checksum,
                 tuple(sorted((d.id, d.checksum) for d in called.values())))
    with _cache_lock:
        spec = _spec_cache.get(cache_key)
        if spec is not None:
            _spec_cache.move_to_end(cache_key)
            return spec
    spec = get_engine().load_spec(definition.spec, called={k: d.spec for k, d in called.items()})
    with _cache_lock:
        _spec_cache[cache_key] = spec
        while len(_spec_cache) > _CACHE_SIZE:
            _spec_cache.popitem(last=False)
    return spec


def known_process_keys() -> set[str]:
    """Keys of every deployed process (targets for call activities)."""
    return set(db.session.scalars(select(ProcessDefinition.key).group_by(ProcessDefinition.key)))


def next_version(key: str) -> int:
    """The version number the next deployment of this key gets."""
    current = db.session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
    return (current or 0) + 1
