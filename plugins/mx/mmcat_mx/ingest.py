"""Writing MX records: the service functions behind ``/api/v1/mx/`` and the ``mx.ingest_processing``
task. Call them from views, tasks or scripts; each validates everything before it writes, writes
in one transaction, and raises :class:`IngestError` (``errors`` maps a field path such as
``"images[3].spots"`` or ``"shells.outer.cc_half"`` to messages) on bad input.

* :func:`start_collection` – a beamline starts acquiring: core Dataset + DataCollection (+ group,
  + grid). Idempotent on (session, name).
* :func:`add_image_quality` – per-image spot-finding results, upserted by image number.
* :func:`finish_collection` – end time, final state, snapshots, final parameters.
* :func:`set_strategies` – the screening strategies of a characterisation, replaced as a whole.
* :func:`record_processing` – a processing result: processed (or merged) Dataset with typed
  parameters and lineage, ProcessingRun, ShellStatistics and ProcessingMessage rows. Idempotent
  on (inputs, pipeline, run_id).
* :func:`processing_from_parse` – a parser's result as the payload of :func:`record_processing`.
* :func:`queue_processing_files` – uploaded pipeline files become attachments and a queued
  ``mx.ingest_processing`` job.

``user`` is the person the call acts for: sessions, samples and datasets are looked up among
those they may see (:mod:`mmcat.permissions`). ``user=None`` is a trusted caller (a task, the
demo) and sees everything.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mmcat import permissions as perms
from mmcat.dictionary import set_parameters, types_by_key, validate_parameters
from mmcat.jobs import submit
from mmcat.models import (
    Attachment,
    Dataset,
    DatasetLink,
    ParameterValue,
    ProcessingJob,
    Sample,
    Session,
)

from .models import (
    DataCollection,
    DataCollectionGroup,
    GridInfo,
    ImageQuality,
    ProcessingMessage,
    ProcessingRun,
    ScreeningStrategy,
    ShellStatistics,
)
from .results import (
    SHELL_ALIASES,
    SHELL_FIELDS,
    SHELL_IGNORED,
    SHELL_NAMES,
    compact_space_group,
    processing_parameters,
    result_shells,
)

__all__ = [
    "MAX_IMAGES_PER_CALL",
    "IngestError",
    "add_image_quality",
    "finish_collection",
    "processing_from_parse",
    "queue_processing_files",
    "record_processing",
    "resolve_session",
    "set_strategies",
    "start_collection",
]

MAX_IMAGES_PER_CALL = 10_000
MAX_STRATEGIES = 50
MAX_FILES = 20
INGEST_TASK = "mx.ingest_processing"
LINK_ROLE = "raw data"
SESSION_REF_RE = re.compile(r"^(?P<code>[a-z]+)(?P<number>\d+)-(?P<visit>\d+)$")
CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")
FINISHED_STATES = (Dataset.State.COMPLETE, Dataset.State.FAILED, Dataset.State.ABORTED)
RUN_STATE = {  # ProcessingRun.status -> state of the processed dataset
    ProcessingRun.Status.RUNNING: Dataset.State.RUNNING,
    ProcessingRun.Status.SUCCESS: Dataset.State.COMPLETE,
    ProcessingRun.Status.FAILED: Dataset.State.FAILED,
}


class IngestError(Exception):
    """Bad input: ``errors`` maps a field path to its messages; ``status`` is the HTTP status
    (400 bad input, 409 conflicts with what is stored)."""

    def __init__(self, errors: dict[str, list[str]], status: int = 400):
        super().__init__(errors)
        self.errors = errors
        self.status = status

    def __str__(self):
        return "; ".join(f"{field}: {' '.join(messages)}"
                         for field, messages in self.errors.items())


class _Reader:
    """Reads values out of a request body, collecting errors by field path."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def err(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise IngestError(self.errors)

    def unknown(self, data: dict, allowed, prefix: str = "") -> None:
        for key in sorted(set(data) - set(allowed), key=str):
            self.err(f"{prefix}{key}", "Unknown field.")

    def object(self, value, path: str) -> dict | None:
        if not isinstance(value, dict):
            self.err(path, "Expected an object.")
            return None
        return value

    def text(self, value, path: str, max_length: int, *, required=False) -> str | None:
        if value is None:
            if required:
                self.err(path, "This field is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.err(path, "Expected text.")
            return None
        value = str(value).strip()
        if required and not value:
            self.err(path, "This field may not be blank.")
            return None
        if len(value) > max_length:
            self.err(path, f"At most {max_length} characters.")
            return None
        return value

    def integer(self, value, path: str, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (isinstance(value, float) and not value.is_integer()):
            self.err(path, f"Expected an integer, got {value!r}.")
            return None
        value = int(value)
        if minimum is not None and value < minimum:
            self.err(path, f"{value} is below the minimum {minimum}.")
            return None
        if maximum is not None and value > maximum:
            self.err(path, f"{value} is above the maximum {maximum}.")
            return None
        return value

    def number(self, value, path: str, minimum: float | None = None,
               maximum: float | None = None, *, positive=False) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value):
            self.err(path, f"Expected a finite number, got {value!r}.")
            return None
        value = float(value)
        if positive and value <= 0:
            self.err(path, f"{value:g} must be greater than 0.")
            return None
        if minimum is not None and value < minimum:
            self.err(path, f"{value:g} is below the minimum {minimum:g}.")
            return None
        if maximum is not None and value > maximum:
            self.err(path, f"{value:g} is above the maximum {maximum:g}.")
            return None
        return value

    def boolean(self, value, path: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.err(path, "Expected true or false.")
            return None
        return value

    def time(self, value, path: str) -> datetime | None:
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            self.err(path, "Expected an ISO 8601 time with a time zone, e.g. "
                           "2026-11-24T10:02:11Z.")
            return None
        return parsed

    def choice(self, value, path: str, choices, default=None):
        if value is None:
            return default
        if value not in choices:
            self.err(path, f"{value!r} is not one of {', '.join(choices)}.")
            return None
        return value

    def parameters(self, values, path: str = "parameters") -> list:
        """Typed parameter rows ``[(ptype, columns)]`` through the core dictionary."""
        if values is None:
            return []
        if not isinstance(values, dict):
            self.err(path, "Expected an object of key: value or {\"value\", \"unit\"}.")
            return []
        try:
            return validate_parameters(values, types_by_key(values))
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.err(f"{path}.{key}", message)
            return []


# --- sessions -------------------------------------------------------------------------------


def _sessions(user):
    return Session.objects.all() if user is None else perms.visible_sessions(user)


def _datasets(user):
    return Dataset.objects.all() if user is None else perms.visible_datasets(user)


def _samples(user):
    return Sample.objects.all() if user is None else perms.visible_samples(user)


def resolve_session(user, ref) -> Session | None:
    """A session ``user`` may see, by id (``12``, ``"12"``) or reference (``"mx1234-5"``)."""
    if isinstance(ref, Session):
        return ref if _sessions(user).filter(pk=ref.pk).exists() else None
    visible = _sessions(user).select_related("proposal")
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return visible.filter(pk=int(ref)).first()
    match = SESSION_REF_RE.match(ref) if isinstance(ref, str) else None
    if match is None:
        return None
    return visible.filter(proposal__code=match["code"], proposal__number=int(match["number"]),
                          number=int(match["visit"])).first()


# --- starting a collection ------------------------------------------------------------------

COLLECTION_FIELDS = ("image_directory", "image_template", "first_image", "number_of_images",
                     "axis", "beam_x", "beam_y")
START_FIELDS = {"session", "sample", "group", "experiment_type", "name", "comments",
                "start_time", "parameters", "grid", *COLLECTION_FIELDS}
GRID_FIELDS = {"steps_x", "steps_y", "dx", "dy", "snaked", "orientation"}
GRID_ORIENTATIONS = ("horizontal", "vertical")


def _validate_start(user, data) -> dict:
    r = _Reader()
    if not isinstance(data, dict):
        raise IngestError({"non_field_errors": ["Expected an object."]})
    r.unknown(data, START_FIELDS)
    session = None
    if data.get("session") is None:
        r.err("session", "This field is required (an id or a reference such as mx1234-5).")
    else:
        session = resolve_session(user, data["session"])
        if session is None:
            r.err("session", f"Session {data['session']!r} not found.")
    name = r.text(data.get("name"), "name", 255, required=True)
    sample = None
    if data.get("sample") is not None:
        sample_id = r.integer(data["sample"], "sample", 1)
        sample = _samples(user).filter(pk=sample_id).first() if sample_id else None
        if sample_id and sample is None:
            r.err("sample", f"Sample {data['sample']!r} not found.")
        elif sample and session and sample.proposal_id != session.proposal_id:
            r.err("sample", "The sample belongs to another proposal than the session.")
    group = None
    if data.get("group") is not None:
        group_id = r.integer(data["group"], "group", 1)
        if group_id and session:
            group = DataCollectionGroup.objects.filter(pk=group_id, session=session).first()
            if group is None:
                r.err("group", f"Collection group {data['group']!r} not found in this session.")
            elif sample and group.sample_id and group.sample_id != sample.pk:
                r.err("sample", f"Group {group.pk} is on another sample ({group.sample_id}).")
    types = DataCollectionGroup.ExperimentType.values
    experiment_type = r.choice(data.get("experiment_type"), "experiment_type", types)
    if group and experiment_type and experiment_type != group.experiment_type:
        r.err("experiment_type", f"Group {group.pk} is a {group.experiment_type} group.")
    fields = {
        "image_directory": r.text(data.get("image_directory"), "image_directory", 1024) or "",
        "image_template": r.text(data.get("image_template"), "image_template", 255) or "",
        "axis": r.text(data.get("axis"), "axis", 20) or "omega",
        "first_image": r.integer(data.get("first_image"), "first_image", 0),
        "number_of_images": r.integer(data.get("number_of_images"), "number_of_images", 1),
        "beam_x": r.number(data.get("beam_x"), "beam_x"),
        "beam_y": r.number(data.get("beam_y"), "beam_y"),
    }
    if fields["first_image"] is None:
        fields["first_image"] = 1
    grid = _grid(r, data.get("grid"))
    if grid:
        cells = grid["steps_x"] * grid["steps_y"]
        if fields["number_of_images"] is None:
            fields["number_of_images"] = cells
        elif fields["number_of_images"] != cells:
            r.err("grid", f"steps_x × steps_y = {cells}, but number_of_images is "
                          f"{fields['number_of_images']}.")
    experiment_type = experiment_type or (group.experiment_type if group else None) or (
        "mesh" if grid else "rotation")
    parameters = data.get("parameters")
    if parameters is None:
        parameters = {}
    if isinstance(parameters, dict):
        parameters = dict(parameters)
        given = parameters.get("number_of_images")
        if given is None and fields["number_of_images"] is not None:
            parameters["number_of_images"] = fields["number_of_images"]
        elif given is not None and fields["number_of_images"] is None:
            fields["number_of_images"] = r.integer(
                given.get("value") if isinstance(given, dict) else given,
                "parameters.number_of_images", 1)
        elif given is not None and given != fields["number_of_images"]:
            r.err("parameters.number_of_images", "Differs from number_of_images.")
        if parameters.setdefault("experiment_type", experiment_type) != experiment_type:
            r.err("parameters.experiment_type", f"Differs from the experiment type "
                                                f"({experiment_type}).")
    rows = r.parameters(parameters)
    start_time = r.time(data.get("start_time"), "start_time")
    comments = r.text(data.get("comments"), "comments", 10_000) or ""
    r.check()
    return {"data": data, "session": session, "name": name, "sample": sample, "group": group,
            "experiment_type": experiment_type, "fields": fields, "grid": grid,
            "rows": rows, "start_time": start_time or timezone.now(), "comments": comments}


def _grid(r: _Reader, value) -> dict | None:
    if value is None:
        return None
    grid = r.object(value, "grid")
    if grid is None:
        return None
    r.unknown(grid, GRID_FIELDS, "grid.")
    out = {
        "steps_x": r.integer(grid.get("steps_x"), "grid.steps_x", 1, 100_000),
        "steps_y": r.integer(grid.get("steps_y"), "grid.steps_y", 1, 100_000),
        "dx": r.number(grid.get("dx"), "grid.dx", positive=True),
        "dy": r.number(grid.get("dy"), "grid.dy", positive=True),
        "snaked": r.boolean(grid.get("snaked"), "grid.snaked"),
        "orientation": r.choice(grid.get("orientation"), "grid.orientation", GRID_ORIENTATIONS,
                                "horizontal"),
    }
    for key in ("steps_x", "steps_y", "dx", "dy"):
        if grid.get(key) is None:
            r.err(f"grid.{key}", "This field is required.")
    if out["snaked"] is None:
        out["snaked"] = True
    if any(out[key] is None for key in ("steps_x", "steps_y", "dx", "dy", "orientation")):
        return None
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                abs_tol=1e-12)
    return a == b


def _start_differences(collection: DataCollection, spec: dict) -> list[str]:
    """The fields of a repeated start request that differ from the stored collection."""
    data, dataset = spec["data"], collection.dataset
    diffs = []
    if "sample" in data and dataset.sample_id != (spec["sample"].pk if spec["sample"] else None):
        diffs.append("sample")
    if "group" in data and collection.group_id != spec["group"].pk:
        diffs.append("group")
    if "experiment_type" in data and collection.group.experiment_type != spec["experiment_type"]:
        diffs.append("experiment_type")
    for key in COLLECTION_FIELDS:
        if key in data and not _same(getattr(collection, key), spec["fields"][key]):
            diffs.append(key)
    if "start_time" in data and dataset.start_time != spec["start_time"]:
        diffs.append("start_time")
    if "comments" in data and dataset.comments != spec["comments"]:
        diffs.append("comments")
    if spec["grid"] is not None:
        grid = getattr(collection, "grid", None)
        if grid is None or any(not _same(getattr(grid, k), v) for k, v in spec["grid"].items()):
            diffs.append("grid")
    if "parameters" in data:
        stored = {pv.type_id: pv for pv in dataset.parameters.all()}
        for ptype, columns in spec["rows"]:
            if ptype.key not in data["parameters"]:
                continue
            pv = stored.get(ptype.pk)
            if pv is None or not all(_same(getattr(pv, c), v) for c, v in columns.items()):
                diffs.append(f"parameters.{ptype.key}")
    return diffs


def _replay_start(dataset: Dataset, spec: dict) -> DataCollection:
    collection = getattr(dataset, "mx_collection", None)
    where = spec["session"].reference
    if collection is None:
        raise IngestError({"name": [f"Session {where} already has a dataset named "
                                    f"{spec['name']!r} that is not an MX collection."]}, 409)
    diffs = _start_differences(collection, spec)
    if diffs:
        raise IngestError({"name": [
            f"A collection named {spec['name']!r} was already started in session {where} "
            f"with other values ({', '.join(diffs)}). Send the same body to get it back, or "
            f"use another name."]}, 409)
    return collection


def _find_dataset(session, name):
    return (Dataset.objects.filter(session=session, name=name)
            .select_related("mx_collection__group", "mx_collection__grid", "session__proposal")
            .first())


def _create_collection(spec: dict) -> DataCollection:
    start = spec["start_time"]
    group = spec["group"]
    if group is None:
        group = DataCollectionGroup.objects.create(
            session=spec["session"], sample=spec["sample"],
            experiment_type=spec["experiment_type"], start_time=start)
    elif group.start_time is None or start < group.start_time:
        DataCollectionGroup.objects.filter(pk=group.pk).update(start_time=start)
    sample = spec["sample"] or group.sample
    dataset = Dataset.objects.create(
        session=spec["session"], sample=sample, technique="mx", kind=Dataset.Kind.RAW,
        state=Dataset.State.RUNNING, name=spec["name"],
        location=spec["fields"]["image_directory"], start_time=start,
        comments=spec["comments"])
    ParameterValue.objects.bulk_create(
        ParameterValue(dataset=dataset, type=ptype, **columns) for ptype, columns in spec["rows"])
    collection = DataCollection.objects.create(dataset=dataset, group=group, **spec["fields"])
    if spec["grid"]:
        GridInfo.objects.create(collection=collection, **spec["grid"])
    return collection


def start_collection(user, data: dict) -> tuple[DataCollection, bool]:
    """Start a data collection: the core Dataset (technique mx, kind raw, state running), its
    typed parameters, the DataCollection, a new DataCollectionGroup unless ``group`` is given,
    and GridInfo for a grid scan. Returns ``(collection, created)``.

    ``data``: ``session`` (id or "mx1234-5"), ``name``, optional ``sample``, ``group``,
    ``experiment_type``, ``image_directory``, ``image_template``, ``first_image``,
    ``number_of_images``, ``axis``, ``beam_x``, ``beam_y``, ``start_time``, ``comments``,
    ``parameters`` ({key: value | {"value", "unit"}}), ``grid`` ({steps_x, steps_y, dx, dy,
    snaked, orientation}).

    A second start with the same (session, name) returns the stored collection
    (``created=False``) when the fields it gives match; otherwise IngestError with status 409.
    """
    spec = _validate_start(user, data)
    existing = _find_dataset(spec["session"], spec["name"])
    if existing is not None:
        return _replay_start(existing, spec), False
    try:
        with transaction.atomic():
            return _create_collection(spec), True
    except IntegrityError:  # a concurrent start with the same name won the race
        existing = _find_dataset(spec["session"], spec["name"])
        if existing is None:
            raise
        return _replay_start(existing, spec), False


# --- per-image quality ----------------------------------------------------------------------

IMAGE_FIELDS = ("spots", "bragg_candidates", "resolution_estimate", "total_intensity")


def _image_rows(collection: DataCollection, rows) -> list[dict]:
    r = _Reader()
    if isinstance(rows, dict) and set(rows) == {"images"}:
        rows = rows["images"]
    if not isinstance(rows, list):
        raise IngestError({"images": ["Expected a list of {\"image_number\": …, \"spots\": …}."]})
    if not rows:
        raise IngestError({"images": ["Give at least one image."]})
    if len(rows) > MAX_IMAGES_PER_CALL:
        raise IngestError({"images": [f"At most {MAX_IMAGES_PER_CALL} images per call; "
                                      f"got {len(rows)}."]})
    last = collection.number_of_images
    seen: dict[int, int] = {}
    out = []
    for index, row in enumerate(rows):
        at = f"images[{index}]"
        if not isinstance(row, dict):
            r.err(at, "Expected an object.")
            continue
        r.unknown(row, {"image_number", *IMAGE_FIELDS}, f"{at}.")
        number = row.get("image_number")
        if number is None:
            r.err(f"{at}.image_number", "This field is required.")
        else:
            number = r.integer(number, f"{at}.image_number", 1)
            if number is not None and last is not None and number > last:
                r.err(f"{at}.image_number",
                      f"{number} is outside 1..{last} (the collection's number_of_images).")
                number = None
            if number is not None and number in seen:
                r.err(f"{at}.image_number", f"Image {number} is also images[{seen[number]}].")
            elif number is not None:
                seen[number] = index
        values = {
            "spots": r.integer(row.get("spots"), f"{at}.spots", 0),
            "bragg_candidates": r.integer(row.get("bragg_candidates"),
                                          f"{at}.bragg_candidates", 0),
            "resolution_estimate": r.number(row.get("resolution_estimate"),
                                            f"{at}.resolution_estimate", positive=True),
            "total_intensity": r.number(row.get("total_intensity"), f"{at}.total_intensity"),
        }
        out.append({"image_number": number,
                    **{k: v for k, v in values.items() if k in row}})
    r.check()
    return out


def add_image_quality(collection: DataCollection, rows) -> dict[str, int]:
    """Upsert per-image quality (``[{"image_number", "spots", "bragg_candidates",
    "resolution_estimate", "total_intensity"}]``, at most 10 000 per call; image numbers count
    from 1 within the collection). A field left out of a row keeps its stored value.

    Returns ``{"received", "created", "updated", "images"}`` (``images``: rows now stored).
    """
    rows = _image_rows(collection, rows)
    by_fields: dict[tuple[str, ...], list[ImageQuality]] = {}
    for row in rows:
        fields = tuple(k for k in IMAGE_FIELDS if k in row)
        by_fields.setdefault(fields, []).append(ImageQuality(collection=collection, **row))
    with transaction.atomic():
        before = ImageQuality.objects.filter(collection=collection).count()
        for fields, objs in by_fields.items():
            if fields:
                ImageQuality.objects.bulk_create(
                    objs, batch_size=2000, update_conflicts=True,
                    unique_fields=["collection", "image_number"], update_fields=list(fields))
            else:
                ImageQuality.objects.bulk_create(objs, batch_size=2000, ignore_conflicts=True)
        after = ImageQuality.objects.filter(collection=collection).count()
    return {"received": len(rows), "created": after - before,
            "updated": len(rows) - (after - before), "images": after}


# --- finishing ------------------------------------------------------------------------------

FINISH_FIELDS = {"end_time", "state", "snapshots", "parameters", "number_of_images"}


def finish_collection(collection: DataCollection, data: dict) -> DataCollection:
    """Record the end of a collection: ``end_time`` and ``state`` (complete, failed, aborted),
    optional ``snapshots`` (list of paths, replaces the stored list), ``number_of_images`` (the
    images actually taken) and final ``parameters`` (upserted). Repeating it is harmless."""
    r = _Reader()
    if not isinstance(data, dict):
        raise IngestError({"non_field_errors": ["Expected an object."]})
    r.unknown(data, FINISH_FIELDS)
    dataset = collection.dataset
    end = r.time(data.get("end_time"), "end_time")
    if data.get("end_time") is None:
        r.err("end_time", "This field is required.")
    elif end and dataset.start_time and end < dataset.start_time:
        r.err("end_time", f"end_time is before the collection's start_time "
                          f"({dataset.start_time.isoformat()}).")
    state = r.choice(data.get("state"), "state", [s.value for s in FINISHED_STATES])
    if data.get("state") is None:
        r.err("state", f"This field is required ({', '.join(FINISHED_STATES)}).")
    snapshots = data.get("snapshots")
    if snapshots is not None and (not isinstance(snapshots, list) or not all(
            isinstance(s, str) and s and len(s) <= 1024 for s in snapshots)):
        r.err("snapshots", "Expected a list of file paths (text, at most 1024 characters).")
    number = r.integer(data.get("number_of_images"), "number_of_images", 0)
    parameters = data.get("parameters")
    if number and (parameters is None or isinstance(parameters, dict)):
        parameters = {**(parameters or {}), "number_of_images": number}
    rows = r.parameters(parameters)
    r.check()
    with transaction.atomic():
        dataset.end_time, dataset.state = end, state
        dataset.save(update_fields=["end_time", "state", "updated_at"])
        update = []
        if snapshots is not None:
            collection.snapshots = snapshots
            update.append("snapshots")
        if number is not None:
            collection.number_of_images = number
            update.append("number_of_images")
        if update:
            collection.save(update_fields=update)
        for ptype, columns in rows:
            ParameterValue.objects.update_or_create(dataset=dataset, type=ptype,
                                                    defaults=columns)
        DataCollectionGroup.objects.filter(pk=collection.group_id).filter(
            Q(end_time__isnull=True) | Q(end_time__lt=end)).update(end_time=end)
    return collection


# --- screening strategies -------------------------------------------------------------------

STRATEGY_FIELDS = {"program", "rank", "space_group", "axis_start", "axis_end",
                   "oscillation_range", "exposure_time", "transmission", "resolution",
                   "completeness", "multiplicity", "number_of_images", "comments"}


def set_strategies(collection: DataCollection, rows) -> list[ScreeningStrategy]:
    """Replace the collection's screening strategies with ``rows`` (``[{"program", "rank",
    "space_group", "axis_start", "axis_end", "oscillation_range", "exposure_time",
    "transmission", "resolution", "completeness", "multiplicity", "number_of_images",
    "comments"}]``; an empty list deletes them). ``rank`` defaults to the position (1, 2…)."""
    r = _Reader()
    if isinstance(rows, dict) and set(rows) == {"strategies"}:
        rows = rows["strategies"]
    if not isinstance(rows, list):
        raise IngestError({"strategies": ["Expected a list of {\"program\": …, …}."]})
    if len(rows) > MAX_STRATEGIES:
        raise IngestError({"strategies": [f"At most {MAX_STRATEGIES} strategies."]})
    objs = []
    for index, row in enumerate(rows):
        at = f"strategies[{index}]"
        if not isinstance(row, dict):
            r.err(at, "Expected an object.")
            continue
        r.unknown(row, STRATEGY_FIELDS, f"{at}.")
        values = {
            "program": r.text(row.get("program"), f"{at}.program", 60, required=True),
            "rank": r.integer(row.get("rank"), f"{at}.rank", 1, 32767) or index + 1,
            "space_group": compact_space_group(
                r.text(row.get("space_group"), f"{at}.space_group", 20)) or "",
            "axis_start": r.number(row.get("axis_start"), f"{at}.axis_start", -3600, 3600),
            "axis_end": r.number(row.get("axis_end"), f"{at}.axis_end", -3600, 3600),
            "oscillation_range": r.number(row.get("oscillation_range"),
                                          f"{at}.oscillation_range", 0, 360),
            "exposure_time": r.number(row.get("exposure_time"), f"{at}.exposure_time", 0),
            "transmission": r.number(row.get("transmission"), f"{at}.transmission", 0, 100),
            "resolution": r.number(row.get("resolution"), f"{at}.resolution", positive=True),
            "completeness": r.number(row.get("completeness"), f"{at}.completeness", 0, 100),
            "multiplicity": r.number(row.get("multiplicity"), f"{at}.multiplicity", 0),
            "number_of_images": r.integer(row.get("number_of_images"),
                                          f"{at}.number_of_images", 1),
            "comments": r.text(row.get("comments"), f"{at}.comments", 10_000) or "",
        }
        objs.append(ScreeningStrategy(collection=collection, **values))
    r.check()
    with transaction.atomic():
        ScreeningStrategy.objects.filter(collection=collection).delete()
        return ScreeningStrategy.objects.bulk_create(objs)


# --- processing results ---------------------------------------------------------------------

PROCESSING_FIELDS = {"collections", "collection", "pipeline", "program", "version",
                     "command_line", "status", "start_time", "end_time", "space_group", "cell",
                     "anomalous", "wavelength", "shells", "messages", "run_id", "name"}
INTEGER_SHELL_FIELDS = {"n_observations", "n_unique"}
SHELL_RANGES = {  # field -> (minimum, maximum)
    "cc_half": (-1, 1), "cc_anomalous": (-1, 1), "completeness": (0, 100),
    "anomalous_completeness": (0, 100), "multiplicity": (0, None),
    "anomalous_multiplicity": (0, None), "r_merge": (0, None), "r_meas": (0, None),
    "r_pim": (0, None),
}
SEVERITIES = [s.value for s in ProcessingMessage.Severity]
STATUSES = [s.value for s in ProcessingRun.Status]


def _inputs(r: _Reader, user, data: dict) -> list[Dataset]:
    if "collections" in data and "collection" in data:
        r.err("collections", "Give collections or collection, not both.")
        return []
    key = "collections" if "collections" in data else "collection"
    refs = data.get(key)
    if refs is None:
        r.err("collections", "This field is required: the input collection (dataset) ids.")
        return []
    if not isinstance(refs, list):
        refs = [refs]
    if not refs:
        r.err(key, "Give at least one input collection.")
        return []
    ids = []
    for index, ref in enumerate(refs):
        at = f"{key}[{index}]" if key == "collections" else key
        number = r.integer(int(ref) if isinstance(ref, str) and ref.isdigit() else ref, at, 1)
        if number is not None and number in ids:
            r.err(at, f"Dataset {number} is listed twice.")
        elif number is not None:
            ids.append(number)
    found = {d.pk: d for d in _datasets(user).filter(pk__in=ids).select_related("session")}
    inputs = []
    for index, ref in enumerate(ids):
        at = f"{key}[{index}]" if key == "collections" else key
        dataset = found.get(ref)
        if dataset is None:
            r.err(at, f"Dataset {ref} not found.")
        elif dataset.technique != "mx":
            r.err(at, f"Dataset {ref} is not an MX dataset (technique {dataset.technique}).")
        else:
            inputs.append(dataset)
    if len({d.session.proposal_id for d in inputs}) > 1:
        r.err(key, "The inputs belong to different proposals.")
    return inputs


def _cell(r: _Reader, value) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, list | tuple):
        if len(value) != 6:
            r.err("cell", "Expected [a, b, c, alpha, beta, gamma] or {\"a\": …}.")
            return {}
        value = dict(zip(CELL_KEYS, value, strict=True))
    if not isinstance(value, dict):
        r.err("cell", "Expected [a, b, c, alpha, beta, gamma] or {\"a\": …}.")
        return {}
    r.unknown(value, CELL_KEYS, "cell.")
    cell = {}
    for key in CELL_KEYS:
        maximum = 5000 if key in "abc" else 180
        number = r.number(value.get(key), f"cell.{key}", maximum=maximum, positive=True)
        if number is not None:
            cell[key] = number
    return cell


def _shells(r: _Reader, value) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.err("shells", "Expected {\"overall\": {…}, \"inner\": {…}, \"outer\": {…}}.")
        return {}
    r.unknown(value, SHELL_NAMES, "shells.")
    out = {}
    for name in SHELL_NAMES:
        at = f"shells.{name}"
        if value.get(name) is None:
            continue
        shell = r.object(value[name], at)
        if shell is None:
            continue
        r.unknown(shell, {*SHELL_FIELDS, *SHELL_ALIASES, *SHELL_IGNORED}, f"{at}.")
        row = {}
        for key, raw in shell.items():
            field = SHELL_ALIASES.get(key, key)
            if field not in SHELL_FIELDS or raw is None:
                continue
            if field in row:
                r.err(f"{at}.{key}", f"Give {field} or its alias {key}, not both.")
                continue
            if field in INTEGER_SHELL_FIELDS:
                number = r.integer(raw, f"{at}.{key}", 0)
            elif field.startswith("resolution"):
                number = r.number(raw, f"{at}.{key}", positive=True)
            else:
                low, high = SHELL_RANGES.get(field, (None, None))
                number = r.number(raw, f"{at}.{key}", low, high)
            if number is not None:
                row[field] = number
        low, high = row.get("resolution_low"), row.get("resolution_high")
        if low is not None and high is not None and low < high:
            r.err(f"{at}.resolution_low", f"{low:g} Å is finer than resolution_high {high:g} Å "
                                          f"(the low-resolution limit is the larger d).")
        if row:
            out[name] = row
    return out


def _messages(r: _Reader, value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        r.err("messages", "Expected a list of text or {\"severity\", \"text\"}.")
        return []
    out = []
    for index, item in enumerate(value):
        at = f"messages[{index}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            r.err(at, "Expected text or {\"severity\", \"text\"}.")
            continue
        r.unknown(item, {"severity", "text"}, f"{at}.")
        severity = r.choice(item.get("severity"), f"{at}.severity", SEVERITIES, "info")
        text = r.text(item.get("text"), f"{at}.text", 10_000, required=True)
        if severity and text:
            out.append({"severity": severity, "text": text})
    return out


PARAMETER_PATHS = {"space_group": "space_group", "program": "program", "wavelength": "wavelength",
                   **{f"cell_{k}": f"cell.{k}" for k in CELL_KEYS},
                   **{k: f"shells.overall.{k}" for k in SHELL_FIELDS}}


def _validate_processing(data, user, inputs) -> dict:
    r = _Reader()
    if not isinstance(data, dict):
        raise IngestError({"non_field_errors": ["Expected an object."]})
    r.unknown(data, PROCESSING_FIELDS)
    if inputs is None:
        inputs = _inputs(r, user, data)
    elif not inputs:
        r.err("collections", "Give at least one input collection.")
    pipeline = r.text(data.get("pipeline"), "pipeline", 60, required=True)
    run_id = r.text(data.get("run_id"), "run_id", 100)
    name = r.text(data.get("name"), "name", 255)
    status = r.choice(data.get("status"), "status", STATUSES, ProcessingRun.Status.SUCCESS)
    start = r.time(data.get("start_time"), "start_time")
    end = r.time(data.get("end_time"), "end_time")
    if start and end and end < start:
        r.err("end_time", "end_time is before start_time.")
    space_group = compact_space_group(r.text(data.get("space_group"), "space_group", 40))
    if space_group and len(space_group) > 20:
        r.err("space_group", "At most 20 characters (without spaces).")
    run = {
        "pipeline": pipeline,
        "program": r.text(data.get("program"), "program", 255) or pipeline or "",
        "version": r.text(data.get("version"), "version", 60) or "",
        "command_line": r.text(data.get("command_line"), "command_line", 100_000) or "",
        "status": status,
        "start_time": start,
        "end_time": end,
        "space_group": space_group or "",
        "anomalous": bool(r.boolean(data.get("anomalous"), "anomalous")),
    }
    cell = _cell(r, data.get("cell"))
    run.update({f"cell_{k}": cell.get(k) for k in CELL_KEYS})
    shells = _shells(r, data.get("shells"))
    messages = _messages(r, data.get("messages"))
    wavelength = r.number(data.get("wavelength"), "wavelength", positive=True)
    params = processing_parameters({
        "shells": shells, "space_group": space_group, "wavelength": wavelength,
        "program": run["program"].split()[0] if run["program"] else None,
        "cell": cell,
    })
    if not r.errors:
        try:
            validate_parameters(params, types_by_key(params))
        except ValidationError as exc:
            for key, problems in exc.message_dict.items():
                for problem in problems:
                    r.err(PARAMETER_PATHS.get(key, key), problem)
    r.check()
    return {"inputs": sorted(inputs, key=lambda d: d.pk), "run": run, "shells": shells,
            "messages": messages, "params": params, "run_id": run_id, "name": name}


def _processed_name(spec: dict) -> str | None:
    """The processed dataset's name when the call names the run (``name`` or ``run_id``)."""
    if spec["name"]:
        return spec["name"]
    if spec["run_id"]:
        first = spec["inputs"][0].name
        suffix = f" {spec['run']['pipeline']} {spec['run_id']}"
        if len(suffix) > 200:
            raise IngestError({"run_id": ["Too long to name the processed dataset."]})
        return f"{first[:255 - len(suffix)]}{suffix}"
    return None


def _fresh_name(session, base: str) -> str:
    base = base[:250]
    taken = set(Dataset.objects.filter(session=session, name__startswith=base)
                .values_list("name", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


def _match_existing(dataset: Dataset, spec: dict) -> ProcessingRun:
    """The stored run that a repeated call updates, or IngestError 409."""
    run = getattr(dataset, "mx_processing", None)
    field = "name" if spec["name"] else "run_id"
    if run is None:
        raise IngestError({field: [f"Session {dataset.session.reference} already has a dataset "
                                   f"named {dataset.name!r} that is not a processing run."]}, 409)
    stored = set(dataset.input_links.values_list("input_id", flat=True))
    wanted = {d.pk for d in spec["inputs"]}
    if run.pipeline != spec["run"]["pipeline"] or stored != wanted:
        raise IngestError({field: [
            f"{dataset.name!r} was recorded by pipeline {run.pipeline!r} from datasets "
            f"{sorted(stored)}; this call gives {spec['run']['pipeline']!r} from "
            f"{sorted(wanted)}."]}, 409)
    return run


def _write_processing(spec: dict, job, target: str | None) -> tuple[ProcessingRun, bool]:
    inputs, run_fields = spec["inputs"], spec["run"]
    first = inputs[0]
    session = first.session
    samples = {d.sample_id for d in inputs}
    dataset_fields = {
        "technique": "mx",
        "kind": Dataset.Kind.MERGED if len(inputs) > 1 else Dataset.Kind.PROCESSED,
        "state": RUN_STATE[run_fields["status"]],
        "sample_id": samples.pop() if len(samples) == 1 else None,
        "start_time": run_fields["start_time"] or timezone.now(),
        "end_time": run_fields["end_time"],
    }
    existing = None
    if target is not None:
        existing = (Dataset.objects.filter(session=session, name=target)
                    .select_related("mx_processing", "session__proposal").first())
    created = existing is None
    with transaction.atomic():
        if existing is None:
            name = target or _fresh_name(session, f"{first.name} {run_fields['pipeline']}")
            dataset = Dataset.objects.create(session=session, name=name, **dataset_fields)
        else:
            _match_existing(existing, spec)
            dataset = existing
            if run_fields["start_time"] is None:
                dataset_fields["start_time"] = dataset.start_time
            for key, value in dataset_fields.items():
                setattr(dataset, key, value)
            dataset.save()
        software = (run_fields["program"].split() or [run_fields["pipeline"]])[0]
        for raw in inputs:
            DatasetLink.objects.update_or_create(
                output=dataset, input=raw,
                defaults={"role": LINK_ROLE, "job": job, "software": software[:120]})
        set_parameters(dataset, spec["params"])
        dataset.parameters.exclude(type__key__in=list(spec["params"])).delete()
        run, _ = ProcessingRun.objects.update_or_create(
            dataset=dataset, defaults={**run_fields, "job": job})
        ShellStatistics.objects.filter(run=run).delete()
        ShellStatistics.objects.bulk_create(
            ShellStatistics(run=run, shell=name, **values)
            for name, values in spec["shells"].items())
        ProcessingMessage.objects.filter(run=run).delete()
        ProcessingMessage.objects.bulk_create(
            ProcessingMessage(run=run, **message) for message in spec["messages"])
    return run, created


def record_processing(data: dict, *, user=None, inputs: list[Dataset] | None = None,
                      job: ProcessingJob | None = None) -> tuple[ProcessingRun, bool]:
    """Store a processing result; returns ``(run, created)``. ``run.dataset`` is the processed
    Dataset (kind ``merged`` when there are several inputs), linked to each input with the role
    "raw data", with its typed parameters (overall shell, cell, space group, program,
    wavelength) set through the data dictionary.

    ``data``: ``collections`` (input dataset ids; or ``collection``) unless ``inputs`` is given,
    ``pipeline`` (required), ``program``, ``version``, ``command_line``, ``status`` (running,
    success, failed; default success), ``start_time``, ``end_time``, ``space_group``, ``cell``
    ({a, b, c, alpha, beta, gamma} or a list of six), ``anomalous``, ``wavelength``, ``shells``
    ({overall|inner|outer: {ShellStatistics field or parser alias: value}}), ``messages``
    ([text | {severity, text}]), ``run_id`` and ``name``.

    The processed dataset is named ``name``, else "<first input> <pipeline> <run_id>", else
    "<first input> <pipeline>" (with " 2", " 3"… when taken). When ``name`` or ``run_id`` is
    given, a repeated call with the same inputs and pipeline updates the stored run (shells and
    messages replaced); the same name for other inputs or another pipeline is a 409.
    """
    spec = _validate_processing(data, user, inputs)
    target = _processed_name(spec)
    try:
        return _write_processing(spec, job, target)
    except IntegrityError:  # a concurrent call created the same run: update it instead
        if target is None:
            raise
        return _write_processing(spec, job, target)


# --- from a parser's result -----------------------------------------------------------------

_ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "CET": 1, "CEST": 2, "BST": 1, "WET": 0, "WEST": 1,
          "EET": 2, "EEST": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
          "MDT": -6, "PST": -8, "PDT": -7, "JST": 9, "AEST": 10, "AEDT": 11}
_CTIME = re.compile(r"^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d):(\d\d)\s+([A-Z]{1,5})\s+"
                    r"(\d{4})$")
_MONTHS = {month: number for number, month in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def loose_time(text) -> str | None:
    """An ISO 8601 time from what pipelines write: ISO with a zone, or ``date``'s
    ``Wed Feb 21 13:44:19 CET 2024``. None when the zone is unknown or the text is not a time."""
    if not isinstance(text, str):
        return None
    parsed = parse_datetime(text.strip())
    if parsed is not None:
        return parsed.isoformat() if parsed.tzinfo else None
    match = _CTIME.match(text.strip())
    if match is None or match[1] not in _MONTHS or match[6] not in _ZONES:
        return None
    zone = dt_timezone(timedelta(hours=_ZONES[match[6]]))
    try:
        return datetime(int(match[7]), _MONTHS[match[1]], int(match[2]), int(match[3]),
                        int(match[4]), int(match[5]), tzinfo=zone).isoformat()
    except ValueError:
        return None


def processing_from_parse(result: dict[str, Any], *, pipeline: str | None = None,
                          run_id: str | None = None) -> dict[str, Any]:
    """The payload of :func:`record_processing` (without inputs) from a parser's result with
    the normalised keys program, space_group, cell, wavelength and shells."""
    program = result.get("program")
    if not isinstance(program, dict):
        program = {"name": program} if program else {}
    name = program.get("name") or result.get("format") or "unknown"
    version = program.get("version")
    status = program.get("status")
    payload = {
        "pipeline": (pipeline or name)[:60],
        "program": (program.get("programs") or " ".join(
            str(p) for p in (name, version) if p))[:255],
        "version": str(version)[:60] if version else None,
        "command_line": program.get("command_line"),
        "status": ProcessingRun.Status.FAILED if status == 0 else ProcessingRun.Status.SUCCESS,
        "start_time": loose_time(program.get("start_time")),
        "end_time": loose_time(program.get("end_time")),
        "space_group": result.get("space_group"),
        "cell": {k: v for k, v in (result.get("cell") or {}).items()
                 if k in CELL_KEYS and v is not None} or None,
        "wavelength": result.get("wavelength"),
        "shells": {name: {k: v for k, v in shell.items() if k in SHELL_FIELDS}
                   for name, shell in result_shells(result).items()},
        "run_id": run_id,
    }
    if payload["start_time"] and payload["end_time"] and \
            payload["end_time"] < payload["start_time"]:
        payload["end_time"] = None
    return {key: value for key, value in payload.items() if value not in (None, "", {})}


# --- uploaded files -------------------------------------------------------------------------

LOG_SUFFIXES = (".log", ".lp", ".txt", ".html", ".dat")


def queue_processing_files(user, data: dict, files: list) -> tuple[ProcessingJob, bool]:
    """Save uploaded pipeline files as attachments and queue an ``mx.ingest_processing`` job
    that parses them and calls :func:`record_processing`. ``data``: ``collections`` (ids),
    optional ``pipeline`` and ``run_id``. Returns ``(job, created)``: the same files for the
    same inputs, pipeline and run_id give back the earlier job unless it failed."""
    r = _Reader()
    if not isinstance(data, dict):
        raise IngestError({"non_field_errors": ["Expected form fields."]})
    r.unknown(data, {"collections", "collection", "pipeline", "run_id"})
    inputs = _inputs(r, user, data)
    pipeline = r.text(data.get("pipeline"), "pipeline", 60)
    run_id = r.text(data.get("run_id"), "run_id", 100)
    if not files:
        r.err("file", "Upload at least one file (field 'file').")
    elif len(files) > MAX_FILES:
        r.err("file", f"At most {MAX_FILES} files per call.")
    r.check()
    digest = hashlib.sha256()
    for part in (sorted(d.pk for d in inputs), pipeline, run_id):
        digest.update(repr(part).encode())
    for upload in files:
        digest.update(upload.name.encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    digest = digest.hexdigest()
    session = inputs[0].session
    earlier = (ProcessingJob.objects.filter(session=session, task=INGEST_TASK,
                                            parameters__digest=digest)
               .exclude(state=ProcessingJob.State.FAILED).order_by("-pk").first())
    if earlier is not None:
        return earlier, False
    parameters = {"attachments": [], "digest": digest}
    if pipeline:
        parameters["pipeline"] = pipeline
    if run_id:
        parameters["run_id"] = run_id
    with transaction.atomic():
        job = ProcessingJob.objects.create(session=session, task=INGEST_TASK,
                                           parameters=parameters,
                                           created_by=user)
        job.inputs.set(inputs)
        for upload in files:
            kind = Attachment.Kind.LOG if upload.name.lower().endswith(LOG_SUFFIXES) \
                else Attachment.Kind.RESULT
            attachment = Attachment.objects.create(session=session, job=job, kind=kind,
                                                   name=upload.name[:255], file=upload)
            parameters["attachments"].append(attachment.pk)
        job.parameters = parameters
        job.save(update_fields=["parameters"])
        submit(job)
    return job, True
