"""Fill the database with realistic open tasks and instances for scale tests (`guichet bench-data`).

Every generated instance is a real, resumable engine state: one instance per definition is run
by the engine and its state reused (task ids only need to be unique within an instance).
Rows go in with COPY on PostgreSQL and batched inserts elsewhere.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import ElementCounter, HumanTask, ProcessDefinition, ProcessInstance, User
from app.models._types import utcnow
from app.services.counters import recount_all
from app.services.deployments import deploy_files
from app.services.runtime import get_engine, load_spec
from app.services.users import ensure_queues
from workflows.helpers import ssn_key

DEFINITIONS = ("bench_benefit_claim", "bench_inquiry", "bench_registration")
BPMN_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{key}" targetNamespace="guichet">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="searchableVariables" value="ssn" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="{task}" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""
NAMES = {"bench_benefit_claim": ("Benefit claim", "Check the claim"),
         "bench_inquiry": ("First-level inquiry", "Answer the inquiry"),
         "bench_registration": ("Registration", "Register the person")}


@dataclass
class Template:
    definition: ProcessDefinition
    running_state: str
    completed_state: str
    task_id: str


def _deploy_definitions(actor: User) -> list[ProcessDefinition]:
    files = [(f"{key}.bpmn", BPMN_TEMPLATE.format(key=key, name=NAMES[key][0], task=NAMES[key][1]).encode())
             for key in DEFINITIONS]
    return deploy_files(files, actor).definitions


def _template(definition: ProcessDefinition) -> Template:
    engine = get_engine()
    spec = load_spec(definition)
    execution = engine.start(spec, {"ssn": "0"})
    execution.run()
    running = execution.snapshot()
    task_id = running.user_tasks[0].task_id
    execution.complete_user_task(task_id, {})
    execution.run()
    completed = execution.snapshot()
    return Template(definition, running.state, completed.state, task_id)


def _ssn(rng: random.Random) -> str:
    body = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}" \
           f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return body + ssn_key(body)


INSTANCE_COLUMNS = ("id", "definition_id", "definition_key", "definition_version", "business_key", "status", "state",
                    "variables", "active_element_ids", "completed_element_ids", "waiting", "task_count",
                    "started_by", "started_at", "ended_at", "version")
TASK_COLUMNS = ("id", "instance_id", "engine_task_id", "element_id", "name", "definition_key", "business_key",
                "queue", "assignee", "state", "priority", "due_at", "form_key", "created_at", "claimed_at",
                "completed_at", "completed_by")
VARIABLE_COLUMNS = ("instance_id", "name", "value")


def _rows(templates: list[Template], open_tasks: int, instances: int, queues: Sequence[str], first_id: int,
          first_task_id: int, seed: int) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]]:
    rng = random.Random(seed)
    now = utcnow()
    empty = json.dumps([])
    for n in range(instances):
        template = templates[n % len(templates)]
        d = template.definition
        iid, tid = first_id + n, first_task_id + n
        running = n < open_tasks
        started = now - timedelta(minutes=rng.randint(5, 90 * 24 * 60))
        ssn = _ssn(rng)
        business_key = f"CASE-{iid:08d}"
        ended = None if running else started + timedelta(minutes=rng.randint(5, 3000))
        instance = (iid, d.id, d.key, d.version, business_key, "running" if running else "completed",
                    template.running_state if running else template.completed_state, json.dumps({"ssn": ssn}),
                    json.dumps(["review"]) if running else empty,
                    json.dumps(["start"] if running else ["start", "review", "end"]), empty, 3, "bench",
                    started, ended, 1)
        due = started + timedelta(days=rng.randint(1, 30))
        if running and rng.random() > 0.1:  # about one open task in ten is overdue
            due = now + timedelta(hours=rng.randint(1, 24 * 20))
        queue = queues[rng.randrange(len(queues))]
        task = (tid, iid, template.task_id, "review", NAMES[d.key][1], d.key, business_key, queue, None,
                "open" if running else "completed", rng.choice((20, 50, 50, 50, 80, 90)), due, None, started,
                None, ended, None if running else "bench")
        yield instance, task, (iid, "ssn", ssn)


def _copy(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        _copy(table, columns, rows)
        return
    placeholders = ", ".join(f":{c}" for c in columns)
    db.session.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"),
                       [dict(zip(columns, row)) for row in rows])


def generate_bench_data(open_tasks: int, instances: int | None, queue_count: int, actor: User, *, seed: int = 7,
                        batch: int = 50_000, progress: Callable[[str], None] = print) -> None:
    """Deploy the bench definitions and add `instances` instances, `open_tasks` of them with an open task."""
    instances = max(instances or 2 * open_tasks, open_tasks)
    queues = [f"queue-{i:02d}" for i in range(queue_count)]
    ensure_queues(queues)
    definitions = _deploy_definitions(actor)
    db.session.commit()
    templates = [_template(d) for d in definitions]
    first_id = (db.session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    first_task_id = (db.session.scalar(select(func.max(HumanTask.id))) or 0) + 1
    chunk: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    written = 0
    for instance, task, variable in _rows(templates, open_tasks, instances, queues, first_id, first_task_id, seed):
        chunk[0].append(instance)
        chunk[1].append(task)
        chunk[2].append(variable)
        if len(chunk[0]) >= batch:
            written += _flush_chunk(chunk)
            progress(f"{written} instances")
    written += _flush_chunk(chunk)
    _after_bulk_load(templates, open_tasks, instances)
    db.session.commit()
    progress(f"done: {written} instances, {open_tasks} open tasks in {queue_count} queues")


def _flush_chunk(chunk: tuple[list[Any], list[Any], list[Any]]) -> int:
    count = len(chunk[0])
    if count:
        _insert("process_instances", INSTANCE_COLUMNS, chunk[0])
        _insert("human_tasks", TASK_COLUMNS, chunk[1])
        _insert("instance_variables", VARIABLE_COLUMNS, chunk[2])
        db.session.commit()
        for part in chunk:
            part.clear()
    return count


def _after_bulk_load(templates: list[Template], open_tasks: int, instances: int) -> None:
    """Sequences past the copied ids, counters recounted, statistics refreshed."""
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("process_instances", "human_tasks"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT MAX(id) FROM {table}))"))
        db.session.execute(text("ANALYZE process_instances"))
        db.session.execute(text("ANALYZE human_tasks"))
        db.session.execute(text("ANALYZE instance_variables"))
    recount_all()
    for i, template in enumerate(templates):
        share_running = len(range(i, open_tasks, len(templates)))
        share_all = len(range(i, instances, len(templates)))
        for element, active, completed in (("start", 0, share_all), ("review", share_running,
                                                                      share_all - share_running),
                                           ("end", 0, share_all - share_running)):
            row = db.session.get(ElementCounter, (template.definition.id, element))
            if row is None:
                row = ElementCounter(definition_id=template.definition.id, element_id=element, active=0,
                                     completed=0, incidents=0)
                db.session.add(row)
            row.active += active
            row.completed += completed
