"""MX processing tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from mmcat.jobs import JobError, job_task
from mmcat.models import Attachment
from mmcat.parsing import ParseError, parse_file

from .ingest import IngestError, processing_from_parse, record_processing
from .results import result_shells


def _is_processing_output(result: dict[str, Any]) -> bool:
    """True for a parser result with statistics of at least one resolution shell."""
    return isinstance(result, dict) and bool(result_shells(result))


def _combine(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several parsed files (say ispyb.xml and the aimless log): for each key,
    and for each statistic of each shell, the value of the first file that has one."""
    combined: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if key not in combined or combined[key] in (None, "", {}, []):
                combined[key] = value
    shells: dict[str, dict[str, Any]] = {}
    for result in results:
        for name, values in result_shells(result).items():
            for field, value in values.items():
                shells.setdefault(name, {}).setdefault(field, value)
    combined["shells"] = shells
    combined.pop("overall", None)
    combined.pop("outer", None)
    return combined


def _attachments(job) -> list[Attachment]:
    parameters = job.parameters or {}
    ids = parameters.get("attachments")
    if ids is None and "attachment" in parameters:
        ids = [parameters["attachment"]]
    if not isinstance(ids, list) or not ids:
        raise JobError("parameter 'attachments' (or 'attachment') must name attachments of "
                       "this session")
    try:
        found = {a.pk: a for a in Attachment.objects.filter(pk__in=ids, session=job.session)}
    except (TypeError, ValueError):
        found = {}
    missing = [i for i in ids if found.get(i) is None]
    if missing:
        raise JobError(f"attachment(s) {missing} are not attachments of this session")
    return [found[i] for i in ids]


@job_task("mx.ingest_processing", queue="mx")
def ingest_processing(job, ctx):
    """Read a pipeline's output files (attachments: AutoProcContainer XML, CORRECT.LP, aimless
    log, xia2.txt, fast_dp JSON…) with the enabled parsers and store the result through
    :func:`mmcat_mx.ingest.record_processing`: the processed (or merged) dataset linked to the
    job's inputs, its ProcessingRun, ShellStatistics and messages.

    Parameters: ``attachments`` (ids; or ``attachment``), optional ``pipeline`` and ``run_id``
    (default ``job <id>``, so running the job again updates the same run). Files that no parser
    reads as processing output stay attached (logs) and are named in the job's log.
    """
    attachments = _attachments(job)
    inputs = list(job.inputs.select_related("session"))
    if not inputs:
        raise JobError("give the raw collection(s) as the job's inputs")
    results, parsers, problems = [], [], []
    for index, attachment in enumerate(attachments):
        ctx.log(f"parsing {attachment.name}")
        try:
            parser, result = parse_file(Path(attachment.file.path))
        except ParseError as exc:
            problems.append(str(exc))
            ctx.log(f"skipped: {exc}")
            continue
        if _is_processing_output(result):
            results.append(result)
            parsers.append(parser)
        else:
            problems.append(f"{attachment.name} is not MX processing output "
                            f"(read as {parser})")
            ctx.log(f"skipped: {attachment.name} has no shell statistics (read as {parser})")
        ctx.progress(80 * (index + 1) / len(attachments))
    if not results:
        raise JobError("; ".join(problems) or "no processing output among the files")
    parameters = job.parameters or {}
    payload = processing_from_parse(_combine(results), pipeline=parameters.get("pipeline"),
                                    run_id=parameters.get("run_id") or f"job {job.pk}")
    try:
        with transaction.atomic():
            run, created = record_processing(payload, inputs=inputs, job=job)
            Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(job=job)
            Attachment.objects.filter(pk__in=[a.pk for a in attachments],
                                      dataset__isnull=True).update(dataset=run.dataset)
    except IngestError as exc:
        raise JobError(f"the parsed result was refused: {exc}") from None
    shells = ", ".join(run.shells.values_list("shell", flat=True)) or "none"
    ctx.log(f"{'recorded' if created else 'updated'} {run.dataset.name} "
            f"({', '.join(parsers)}; shells: {shells})")
    return {"dataset": run.dataset_id, "run": run.dataset_id, "parser": parsers[0],
            "parsers": parsers, "space_group": run.space_group or None,
            "created": created}


from .merge_tasks import merge  # noqa: E402, F401  (job task)


@job_task("mx.make_thumbnail", queue="mx")
def make_thumbnail(job, ctx):
    """Render a diffraction image attachment (CBF, HDF5/NeXus) as a PNG thumbnail attachment
    on the same dataset; re-running replaces it. Parameters: ``attachment`` (id), optional
    ``image_number`` (1) and ``size`` (512). See :func:`mmcat_mx.images.make_thumbnail_job`."""
    from .images import make_thumbnail_job

    return make_thumbnail_job(job, ctx)
