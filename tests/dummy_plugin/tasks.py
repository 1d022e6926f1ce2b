from celery import shared_task
from django.db import OperationalError

from mmcat.jobs import JobError, job_task
from mmcat.models import Dataset


@job_task("dummy.count_parameters")
def count_parameters(job, ctx):
    """Counts the parameters of the job's input datasets. For tests it fails on request:
    ``fail`` (a reported failure), ``crash`` (a bug) or ``transient_failures: n`` (the first n
    attempts lose the database connection)."""
    if job.parameters.get("fail"):
        raise JobError("asked to fail")
    if job.parameters.get("crash"):
        raise ZeroDivisionError("division by zero")
    if job.attempts <= job.parameters.get("transient_failures", 0):
        raise OperationalError("server closed the connection unexpectedly")
    ctx.progress(50)
    ctx.log("counting")
    inputs = Dataset.objects.filter(jobs=job)
    return {"datasets": inputs.count(),
            "parameters": sum(d.parameters.count() for d in inputs)}


@shared_task(name="dummy.heartbeat")
def heartbeat():
    return "alive"
