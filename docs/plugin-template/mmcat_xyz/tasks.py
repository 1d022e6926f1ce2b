"""XYZ processing tasks. Celery autodiscovers this module in every enabled plugin."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from mmcat.dictionary import set_parameters
from mmcat.jobs import JobError, job_task
from mmcat.models import Attachment
from mmcat.plugins.types import ParseError

from . import parser
from .models import Scan


# Add queue="xyz" to send these jobs to a queue of their own; a site then runs a worker for it
# (``mmcat worker -Q xyz``). Without a queue they run on the default worker.
@job_task("xyz.ingest_scan")
def ingest_scan(job, ctx):
    """Read an XYZ-SCAN attachment into the job's one input dataset: its dictionary parameters
    and its :class:`Scan` summary.

    Parameters: ``{"attachment": <id of an attachment of the job's session>}``. Idempotent:
    running it again on the same input overwrites the same rows (``update_or_create``).
    """
    inputs = list(job.inputs.filter(technique="xyz"))
    if len(inputs) != 1:
        raise JobError("give exactly one xyz dataset as the job's input")
    dataset = inputs[0]
    try:
        attachment = Attachment.objects.get(pk=job.parameters["attachment"], session=job.session)
    except (KeyError, TypeError, ValueError, Attachment.DoesNotExist):
        raise JobError("parameter 'attachment' must name an attachment of this session") from None

    ctx.log(f"parsing {attachment.name}")
    try:
        result = parser.parse(Path(attachment.file.path))
    except ParseError as exc:
        raise JobError(str(exc)) from None
    ctx.progress(50)

    with transaction.atomic():  # the job body is not atomic: group the writes that belong together
        try:
            set_parameters(dataset, {
                "xyz_energy": {"value": result["energy"], "unit": result["energy_unit"]},
                "xyz_points": result["points"],
                "xyz_mode": result["mode"],
            })
        except ValidationError as exc:
            raise JobError("; ".join(exc.messages)) from None
        Scan.objects.update_or_create(dataset=dataset, defaults={
            "points": result["points"],
            "peak_position": result["peak_position"],
            "peak_counts": result["peak_counts"],
            "total_counts": result["total_counts"],
        })
    ctx.log(f"recorded the scan of {dataset.name}")
    return {"dataset": dataset.pk, "points": result["points"],
            "peak_position": result["peak_position"]}
