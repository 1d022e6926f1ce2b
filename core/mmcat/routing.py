"""Which Celery queue a task goes to. Kept free of model imports so that any process that sends
a task (web, worker, beat, ``celery call``) can load the router before Django is set up."""

from __future__ import annotations

_queues: dict[str, str] = {}


def declare(task_name: str, queue: str) -> None:
    """Send ``task_name`` to ``queue`` (called by ``job_task(..., queue=...)``)."""
    _queues[task_name] = queue


def queues() -> list[str]:
    """Every queue a task was declared with, and the default queue ``celery``."""
    return sorted({"celery", *_queues.values()})


def route(name, args, kwargs, options, task=None, **kw):
    """Celery router (``CELERY_TASK_ROUTES``): a job task goes to the queue it was declared
    with, so a site can give a heavy plugin's queue workers of its own."""
    if name in _queues:
        return {"queue": _queues[name]}
    return None
