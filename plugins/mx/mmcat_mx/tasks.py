"""MX processing tasks."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from mmcat.dictionary import set_parameters
from mmcat.jobs import JobError, job_task
from mmcat.models import Attachment, Dataset, DatasetLink
from mmcat.parsing import ParseError, parse_file

from .results import processing_parameters


@job_task("mx.ingest_processing", queue="mx")
def ingest_processing(job, ctx):
    """Read a pipeline's output (an uploaded attachment: AutoProcContainer XML or CORRECT.LP)
    and record it as a processed dataset linked to the job's input collection(s).

    Parameters: ``attachment`` (id). Running it again updates the same processed dataset.
    """
    try:
        attachment = Attachment.objects.get(pk=job.parameters["attachment"], session=job.session)
    except (KeyError, TypeError, ValueError, Attachment.DoesNotExist):
        raise JobError("parameter 'attachment' must name an attachment of this session") from None
    inputs = list(job.inputs.all())
    if not inputs:
        raise JobError("give the raw collection(s) as the job's inputs")
    ctx.log(f"parsing {attachment.name}")
    try:
        parser, result = parse_file(Path(attachment.file.path))
    except ParseError as exc:
        raise JobError(str(exc)) from None
    if parser not in ("ispyb_autoproc_xml", "xds_correct_lp"):
        raise JobError(f"{attachment.name} is not MX processing output (read as {parser})")
    ctx.progress(50)
    program = (result.get("program") or {}).get("name") or parser
    with transaction.atomic():
        processed, _ = Dataset.objects.update_or_create(
            session=job.session,
            name=f"{inputs[0].name} {program} job {job.pk}",
            defaults={"technique": "mx", "kind": Dataset.Kind.PROCESSED,
                      "sample": inputs[0].sample, "state": Dataset.State.COMPLETE},
        )
        set_parameters(processed, processing_parameters(result))
        for raw in inputs:
            DatasetLink.objects.update_or_create(
                output=processed, input=raw,
                defaults={"role": "raw data", "job": job, "software": program},
            )
        Attachment.objects.filter(pk=attachment.pk, job__isnull=True).update(job=job)
    ctx.log(f"recorded {processed.name} ({parser})")
    return {"dataset": processed.pk, "parser": parser, "space_group": result.get("space_group")}
