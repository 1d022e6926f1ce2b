"""Processing jobs: submit one, and write tasks whose lifecycle the core keeps.

A plugin writes a job task like this (in its ``tasks.py``)::

    from mmcat.jobs import job_task

    @job_task("mx.reprocess", queue="mx")
    def reprocess(job, ctx):
        ctx.log("indexing"); ctx.progress(10)
        ...
        return {"space_group": "P 21 21 21"}      # stored in job.result

The core marks the job running, counts attempts, stores the result or the error, retries on
transient errors (database or broker connection lost) with back-off, and fires
``mmcat_job_finished``. It never runs a finished job twice, so a redelivered message is harmless
(tasks are ``acks_late``). The body runs outside a transaction so that its progress shows while
it runs: make your own writes atomic.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from . import routing
from .models import ProcessingJob

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
MAX_RETRIES = 5

_registry: dict[str, Callable] = {}


class JobError(Exception):
    """A job failed for a reason the user should read (bad input, missing file…)."""


class JobContext:
    """Handed to a job body: report progress and append to the job's log."""

    def __init__(self, job: ProcessingJob):
        self.job = job

    def log(self, message: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self.job.log += f"[{stamp}] {message}\n"
        ProcessingJob.objects.filter(pk=self.job.pk).update(log=self.job.log)

    def progress(self, percent: float) -> None:
        self.job.progress = max(0, min(100, int(percent)))
        ProcessingJob.objects.filter(pk=self.job.pk).update(progress=self.job.progress)


def job_task(name: str, queue: str | None = None):
    """Register ``body(job, ctx) -> dict | None`` as the Celery task ``name``."""

    def decorator(body):
        if queue:
            routing.declare(name, queue)

        @shared_task(name=name, bind=True, acks_late=True, max_retries=MAX_RETRIES)
        @functools.wraps(body)
        def run(task, job_id: int):
            return _run(task, body, job_id)

        _registry[name] = run
        return run

    return decorator


def _claim(job_id: int) -> ProcessingJob | None:
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in ProcessingJob.FINISHED:
            return None
        job.state = ProcessingJob.State.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["state", "attempts", "started_at"])
        return job


def _finish(job: ProcessingJob, *, result=None, error: str = "") -> None:
    from .events import job_finished

    job.state = ProcessingJob.State.FAILED if error else ProcessingJob.State.SUCCEEDED
    job.result, job.error, job.finished_at = result, error, timezone.now()
    if not error:
        job.progress = 100
    job.save(update_fields=["state", "result", "error", "finished_at", "progress"])
    job_finished(job)


def _run(task, body, job_id: int):
    job = _claim(job_id)
    if job is None:
        logger.info("job %s already finished or gone; nothing to do", job_id)
        return None
    ctx = JobContext(job)
    try:
        result = body(job, ctx)  # not atomic: progress and log must be visible while it runs
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= task.max_retries:
            _finish(job, error=f"gave up after {job.attempts} attempts: {exc}")
            return None
        ctx.log(f"transient error, will retry: {exc}")
        ProcessingJob.objects.filter(pk=job.pk).update(state=ProcessingJob.State.QUEUED)
        raise task.retry(exc=exc, countdown=min(2 ** task.request.retries, 60)) from exc
    except JobError as exc:
        ctx.log(f"failed: {exc}")
        _finish(job, error=str(exc))
        return None
    except Exception as exc:  # a bug in the task: record it, do not retry
        logger.exception("job %s crashed", job_id)
        ctx.log(f"crashed: {type(exc).__name__}: {exc}")
        _finish(job, error=f"{type(exc).__name__}: {exc}")
        return None
    _finish(job, result=result)
    return job.pk


@functools.cache
def _discover() -> None:
    from .celery import app

    app.autodiscover_tasks(force=True)


def job_tasks() -> dict[str, Callable]:
    """Every registered job task by name (core's and the enabled plugins')."""
    _discover()
    return dict(_registry)


class NotRetryable(Exception):
    """The job cannot be queued again; the message says why."""


def retry(job_id: int) -> ProcessingJob:
    """Queue a failed job again: lock it, check it failed and its task is installed, reset its
    state, and submit it after commit. Raises :class:`NotRetryable` otherwise."""
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().get(pk=job_id)
        if job.state != ProcessingJob.State.FAILED:
            raise NotRetryable(
                f"Only failed jobs can be retried; this one is {job.get_state_display()}."
            )
        if job.task not in job_tasks():
            raise NotRetryable(f"The task {job.task} is not installed here; the job cannot run.")
        job.state, job.error, job.progress, job.finished_at = (
            ProcessingJob.State.QUEUED, "", 0, None)
        job.save(update_fields=["state", "error", "progress", "finished_at"])
        submit(job)
    return job


def submit(job: ProcessingJob) -> ProcessingJob:
    """Queue an already-saved job once its transaction commits."""
    task = job_tasks()[job.task]
    transaction.on_commit(lambda: task.apply_async(args=[job.pk]))
    return job
