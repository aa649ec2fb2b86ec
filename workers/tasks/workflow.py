"""Workflow tasks: run a service-task job, sweep (timers, jobs never taken). Thin: ids in, one service call."""
from __future__ import annotations

from celery import shared_task

from app.services import jobs, sweeper


@shared_task(name="jobs.run", acks_late=True, ignore_result=True)
def run_job_task(job_id: int) -> str:
    """Run one job exactly once in effect (claim, operation, delivery under the instance lock)."""
    return jobs.run_job(int(job_id))


@shared_task(name="automation.sweep", acks_late=False, ignore_result=True)
def sweep_task() -> dict[str, int | bool]:
    """Fire due timers, recover jobs of dead workers, (re)send jobs left in the outbox."""
    report = sweeper.sweep()
    return {"ran": report.ran, "timersFired": report.timers_fired, "jobsRecovered": report.jobs_recovered,
            "jobsSent": report.jobs_sent}


@shared_task(name="automation.ping", ignore_result=True)
def ping_task() -> str:
    """Do nothing: the bare broker round trip (health checks, the baseline of bench/automation)."""
    return "pong"
