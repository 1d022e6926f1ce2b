"""The ``mx.merge`` job: merge the unmerged intensities of one or several datasets with gemmi."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from mmcat.dictionary import set_parameters
from mmcat.jobs import JobError, job_task
from mmcat.models import Attachment, Dataset, DatasetLink

from .merging import MergingError, Unmerged, read_unmerged
from .merging import merge as merge_intensities
from .models import ProcessingRun, ShellStatistics
from .results import compact_space_group

PIPELINE = "mmCAT merge (gemmi)"
LINK_ROLE = "merged input"
#: file names (case-insensitive) that may hold unmerged intensities, in order of preference
UNMERGED_SUFFIXES = (".hkl", ".mtz")
#: keys of a merging result's overall shell that are also data-dictionary parameters
PARAMETER_KEYS = ("resolution_low", "resolution_high", "completeness", "multiplicity",
                  "i_over_sigma", "r_merge", "r_meas", "r_pim", "cc_half", "n_observations",
                  "n_unique")


def unmerged_candidates(dataset: Dataset) -> list[Attachment]:
    """Attachments that may hold the dataset's unmerged intensities: its own files ending in
    .HKL or .mtz (.HKL first), then those of the processed datasets made from it, newest
    first (a collection's XDS_ASCII.HKL is often attached to its processing)."""
    def files(owner):
        found = [a for a in owner.attachments.all()
                 if a.name.lower().endswith(UNMERGED_SUFFIXES)]
        return sorted(found, key=lambda a: (
            UNMERGED_SUFFIXES.index(Path(a.name.lower()).suffix), a.name, a.pk))

    candidates = files(dataset)
    children = Dataset.objects.filter(
        input_links__input=dataset, kind=Dataset.Kind.PROCESSED,
    ).order_by("-created_at", "-pk").prefetch_related("attachments")
    for child in children:
        candidates += files(child)
    return candidates


def read_dataset_unmerged(dataset: Dataset) -> tuple[Unmerged, Attachment]:
    """The unmerged observations of a dataset, from the first candidate file that holds them."""
    candidates = unmerged_candidates(dataset)
    if not candidates:
        raise JobError(f"dataset {dataset.name!r} has no unmerged intensities: attach its "
                       "XDS_ASCII.HKL or unmerged MTZ (a file ending in .HKL or .mtz) to it "
                       "or to its processed dataset")
    reasons = []
    for attachment in candidates:
        try:
            return read_unmerged(attachment.file.path, f"{dataset.name}/{attachment.name}"), \
                attachment
        except (MergingError, OSError, ValueError) as exc:
            reasons.append(str(exc))
    raise JobError(f"dataset {dataset.name!r} has no readable unmerged intensities: "
                   + "; ".join(reasons))


def _options(parameters) -> dict:
    if not isinstance(parameters, dict):
        raise JobError("the job's parameters must be an object")
    unknown = set(parameters) - {"resolution", "space_group", "cell", "name", "n_bins"}
    if unknown:
        raise JobError(f"unknown merge parameter(s): {', '.join(sorted(unknown))}")
    options = {key: parameters.get(key) for key in ("resolution", "space_group", "cell")}
    if parameters.get("n_bins") is not None:
        options["n_bins"] = parameters["n_bins"]
    return options


def _output_name(job, inputs) -> str:
    name = str(job.parameters.get("name") or "").strip()
    if not name:
        name = f"{inputs[0].name} merged" if len(inputs) == 1 else \
            f"{inputs[0].name} +{len(inputs) - 1} merged"
    if len(name) > 255:
        raise JobError("the merged dataset's name is longer than 255 characters")
    return name


def _parameters(result: dict) -> dict:
    overall = result["shells"]["overall"]
    values = {key: overall[key] for key in PARAMETER_KEYS if overall.get(key) is not None}
    values["space_group"] = compact_space_group(result["space_group"])
    for axis, value in zip(("a", "b", "c", "alpha", "beta", "gamma"), result["cell"],
                           strict=True):
        values[f"cell_{axis}"] = value
    values["program"] = f"mmCAT merge ({result['program']})"
    if result.get("wavelength"):
        values["wavelength"] = result["wavelength"]
    return values


@job_task("mx.merge", queue="mx")
def merge(job, ctx):
    """Merge the unmerged intensities of the job's input datasets into one merged dataset.

    Inputs: the collections or processed datasets to merge (same crystal or several); each
    needs an attachment with unmerged intensities (XDS_ASCII.HKL or unmerged MTZ). Parameters:
    ``resolution`` (Å or null), ``space_group`` (symbol or null), ``cell`` (six numbers or
    null), ``name`` (of the merged dataset), ``n_bins`` (optional, default 10). Running the job
    again updates the same merged dataset.
    """
    options = _options(job.parameters)
    inputs = list(job.inputs.order_by("start_time", "pk"))
    if not inputs:
        raise JobError("select the dataset(s) to merge as the job's inputs")
    name = _output_name(job, inputs)
    existing = Dataset.objects.filter(session=job.session, name=name).first()
    if existing is not None and not ProcessingRun.objects.filter(
            dataset=existing, job=job).exists():
        raise JobError(f"a dataset named {name!r} already exists in this session; "
                       "choose another name for the merged dataset")
    started = timezone.now()
    unmerged, used = [], []
    for number, dataset in enumerate(inputs, 1):
        data, attachment = read_dataset_unmerged(dataset)
        owner = attachment.dataset.name if attachment.dataset_id else dataset.name
        ctx.log(f"read {attachment.name} of {owner}: {data.n_observations} observations "
                f"({data.n_records} records), {data.space_group.xhm()}")
        unmerged.append(data)
        used.append(attachment)
        ctx.progress(40 * number / len(inputs))

    with tempfile.TemporaryDirectory() as folder:
        mtz_name = f"{_file_stem(name)}_merged.mtz"
        mtz_path = Path(folder) / mtz_name
        try:
            result = merge_intensities(unmerged, mtz_path=mtz_path, log=ctx.log, **options)
        except MergingError as exc:
            raise JobError(str(exc)) from None
        ctx.progress(80)
        merged = _record(job, inputs, name, result, mtz_path, mtz_name, options, started)
    overall = result["shells"]["overall"]
    ctx.log(f"recorded {merged.name}: {overall['n_unique']} unique reflections, "
            f"completeness {overall['completeness']} %, Rmerge {overall['r_merge']}, "
            f"CC½ {overall['cc_half']}")
    return {
        "dataset": merged.pk,
        "space_group": result["space_group"],
        "cell": result["cell"],
        "shells": result["shells"],
        "inputs": [{"dataset": d.pk, "attachment": a.pk} for d, a in zip(inputs, used,
                                                                          strict=True)],
    }


def _file_stem(name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return stem[:80] or "merged"


def _record(job, inputs, name, result, mtz_path, mtz_name, options, started) -> Dataset:
    """Write the merged dataset, its parameters, lineage, MTZ and statistics in one transaction;
    the MTZ it replaces is deleted once that commits, the new one if it does not."""
    samples = {d.sample_id for d in inputs}
    stored = None
    try:
        with transaction.atomic():
            merged, _ = Dataset.objects.update_or_create(
                session=job.session, name=name,
                defaults={"technique": "mx",
                          # one input is a reprocessing, several a merge
                          "kind": Dataset.Kind.MERGED if len(inputs) > 1
                          else Dataset.Kind.PROCESSED,
                          "sample_id": samples.pop() if len(samples) == 1 else None,
                          "state": Dataset.State.COMPLETE, "start_time": started,
                          "end_time": timezone.now()},
            )
            try:
                set_parameters(merged, _parameters(result))
            except ValidationError as exc:
                raise JobError(f"the merged statistics do not fit the data dictionary: "
                               f"{'; '.join(exc.messages)}") from None
            merged.input_links.exclude(input__in=inputs).delete()
            for dataset in inputs:
                DatasetLink.objects.update_or_create(
                    output=merged, input=dataset,
                    defaults={"role": LINK_ROLE, "job": job, "software": result["program"]})
            old = list(Attachment.objects.filter(dataset=merged, name=mtz_name))
            attachment = Attachment(session=job.session, dataset=merged, job=job,
                                    kind=Attachment.Kind.RESULT, name=mtz_name)
            with mtz_path.open("rb") as f:
                attachment.file.save(mtz_name, File(f), save=False)
            stored = attachment.file.name
            attachment.save()
            for previous in old:
                previous.delete()
                transaction.on_commit(
                    lambda f=previous.file: f.storage.delete(f.name) if f.name else None)
            _record_run(job, merged, result, options, started)
    except BaseException:
        if stored:
            Attachment.file.field.storage.delete(stored)
        raise
    return merged


def _record_run(job, merged, result, options, started) -> None:
    a, b, c, alpha, beta, gamma = result["cell"]
    run, _ = ProcessingRun.objects.update_or_create(
        dataset=merged,
        defaults={"pipeline": PIPELINE, "program": result["program"],
                  "version": result["program"].split()[-1],
                  "command_line": "mx.merge " + json.dumps(
                      {k: v for k, v in options.items() if v is not None}, sort_keys=True),
                  "status": ProcessingRun.Status.SUCCESS, "start_time": started,
                  "end_time": timezone.now(), "space_group": result["space_group"],
                  "cell_a": a, "cell_b": b, "cell_c": c, "cell_alpha": alpha,
                  "cell_beta": beta, "cell_gamma": gamma, "anomalous": False, "job": job},
    )
    for shell, values in result["shells"].items():
        ShellStatistics.objects.update_or_create(run=run, shell=shell, defaults=values)
    run.shells.exclude(shell__in=list(result["shells"])).delete()
