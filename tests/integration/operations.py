"""Operations for tests (topics `test.*`), loaded in worker processes through GUICHET_OPERATION_MODULES.

Their effects go to tables of their own, written in their own transactions like an external
system would (not with the job's delivery), so a job run twice would show twice unless the
operation is idempotent by job id — which is what the tests count.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from app.extensions import db
from app.models import Job
from app.services.operations import JobContext, JobError, operation

metadata = MetaData()
effects = Table("test_effects", metadata, Column("job_id", BigInteger, primary_key=True),
                Column("instance_id", BigInteger), Column("at", DateTime(timezone=True), server_default=func.now()))
attempts = Table("test_attempts", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("job_id", BigInteger), Column("topic", String(80)), Column("attempt", Integer),
                 Column("at", DateTime(timezone=True), server_default=func.now()))
switches = Table("test_switches", metadata, Column("name", String(80), primary_key=True),
                 Column("value", String(80)))


def ensure_tables(engine: Engine) -> None:
    """Create the test tables if missing (they are outside the app's migrations)."""
    metadata.create_all(engine)


def clear_tables(engine: Engine) -> None:
    """Empty the test tables."""
    ensure_tables(engine)
    with engine.begin() as conn:
        for table in (effects, attempts, switches):
            conn.execute(table.delete())


def set_switch(engine: Engine, name: str, value: str | None) -> None:
    """Set (or clear) a switch the operations read."""
    ensure_tables(engine)
    with engine.begin() as conn:
        conn.execute(switches.delete().where(switches.c.name == name))
        if value is not None:
            conn.execute(insert(switches).values(name=name, value=value))


def _switch(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(switches.c.value).where(switches.c.name == name)).scalar()


def _record_attempt(ctx: JobContext) -> None:
    ensure_tables(db.engine)
    with db.engine.begin() as conn:
        conn.execute(insert(attempts).values(job_id=ctx.job_id, topic=ctx.topic, attempt=ctx.attempt))


@operation("test.effect", retries=3, backoff_seconds=0.2)
def apply_effect(ctx: JobContext) -> dict[str, Any]:
    """Sleep `sleep` seconds, then apply an effect keyed by the job id (idempotent)."""
    _record_attempt(ctx)
    time.sleep(float(ctx.input.get("sleep", 0)))
    engine = db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("INSERT INTO test_effects (job_id, instance_id) VALUES (:j, :i) "
                              "ON CONFLICT (job_id) DO NOTHING"), {"j": ctx.job_id, "i": ctx.instance_id})
        else:
            conn.execute(text("INSERT OR IGNORE INTO test_effects (job_id, instance_id) VALUES (:j, :i)"),
                         {"j": ctx.job_id, "i": ctx.instance_id})
    return {"effect": "applied"}


@operation("test.branch", retries=3, backoff_seconds=0.2)
def run_branch(ctx: JobContext) -> dict[str, Any]:
    """Wait until every `test.branch` job of the instance runs, so that their results arrive together."""
    _record_attempt(ctx)
    deadline = time.monotonic() + float(ctx.input.get("wait", 10))
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            running = conn.execute(select(func.count()).select_from(Job).where(
                Job.instance_id == ctx.instance_id, Job.topic == "test.branch",
                Job.state.in_(("running", "done")))).scalar()
        if running and running >= int(ctx.input.get("branches", 2)):
            break
        time.sleep(0.01)
    return {f"done_{ctx.element_id}": True}


@operation("test.flaky", retries=3, backoff_seconds=0.2)
def call_flaky(ctx: JobContext) -> dict[str, Any]:
    """Fail while the switch `flaky` is `broken`."""
    _record_attempt(ctx)
    if _switch(db.engine, "flaky") == "broken":
        raise RuntimeError("partner service down")
    return {"answer": 42}


@operation("test.reject", retries=3, backoff_seconds=0.2)
def reject(ctx: JobContext) -> dict[str, Any]:
    """Always a business error REJECTED (unless the switch `reject` is `off`)."""
    _record_attempt(ctx)
    if _switch(db.engine, "reject") == "off":
        return {"accepted": True}
    raise JobError("REJECTED", "the partner refused the file")
