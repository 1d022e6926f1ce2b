from celery import shared_task
from mmcat.jobs import JobError, job_task
from mmcat.models import Dataset


@job_task("dummy.count_parameters")
def count_parameters(job, ctx):
    """Counts the parameters of the job's input datasets; fails on request (for tests)."""
    if job.parameters.get("fail"):
        raise JobError("asked to fail")
    ctx.progress(50)
    ctx.log("counting")
    inputs = Dataset.objects.filter(jobs=job)
    return {"datasets": inputs.count(),
            "parameters": sum(d.parameters.count() for d in inputs)}


@shared_task(name="dummy.heartbeat")
def heartbeat():
    return "alive"
