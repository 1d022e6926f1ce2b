"""Bulk ingestion: many datasets with their parameters, files and lineage in one transaction.

Everything is validated before anything is written; an error names the item and the field
(``datasets[3].parameters.wavelength``). A request carrying an idempotency key is recorded with
its answer: a retry with the same key and body gets the same answer and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from . import permissions as perms
from .bulk import insert_rows
from .dictionary import coerce, techniques
from .events import dataset_created_in_bulk
from .models import (
    Datafile,
    Dataset,
    DatasetLink,
    IngestRequest,
    ParameterType,
    ParameterValue,
)

SESSION_REF_RE = re.compile(r"^(?P<code>[a-z]+)(?P<number>\d+)-(?P<visit>\d+)$")
MAX_DATASETS = 5000
DATASET_FIELDS = {"session", "sample", "technique", "kind", "name", "location", "start_time",
                  "end_time", "state", "comments", "parameters", "files", "inputs"}
FILE_FIELDS = {"path", "size", "checksum", "format"}


class IngestError(Exception):
    """Bad input: ``errors`` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]], status: int = 400):
        super().__init__(errors)
        self.errors = errors
        self.status = status


class IdempotencyConflict(Exception):
    pass


def body_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _session_key(value):
    return ("id", value) if isinstance(value, int) else ("ref", str(value))


class _Validator:
    """Validates a payload against the database with a fixed number of queries."""

    def __init__(self, user, items: list[dict]):
        self.user = user
        self.items = items
        self.errors: dict[str, list[str]] = defaultdict(list)

    def err(self, path: str, message: str) -> None:
        self.errors[path].append(message)

    def _load_sessions(self) -> dict:
        refs = {item.get("session") for item in self.items if isinstance(item, dict)}
        ids = {r for r in refs if isinstance(r, int) and not isinstance(r, bool)}
        codes = {r for r in refs if isinstance(r, str)}
        visible = perms.visible_sessions(self.user).select_related("proposal")
        found: dict = {}
        for session in visible.filter(pk__in=ids):
            found[("id", session.pk)] = session
        condition = Q()
        for ref in codes:
            match = SESSION_REF_RE.match(ref)
            if match:
                condition |= Q(proposal__code=match["code"], proposal__number=int(match["number"]),
                               number=int(match["visit"]))
        if condition:
            for session in visible.filter(condition):
                found[("ref", session.reference)] = session
        return found

    def validate(self):
        sessions = self._load_sessions()
        enabled = techniques()
        keys = {k for item in self.items if isinstance(item, dict)
                for k in (item.get("parameters") or {}) if isinstance(item.get("parameters"), dict)}
        ptypes = {p.key: p for p in ParameterType.objects.filter(key__in=keys)}
        sample_ids = {item.get("sample") for item in self.items
                      if isinstance(item, dict) and isinstance(item.get("sample"), int)}
        samples = {s.pk: s for s in perms.visible_samples(self.user).filter(pk__in=sample_ids)}
        input_ids = {i.get("dataset") for item in self.items if isinstance(item, dict)
                     for i in (item.get("inputs") or []) if isinstance(i, dict)}
        visible_inputs = set(perms.visible_datasets(self.user).filter(
            pk__in=[i for i in input_ids if isinstance(i, int)]).values_list("pk", flat=True))
        names_seen: dict[tuple[int, str], int] = {}
        rows = []
        for index, item in enumerate(self.items):
            rows.append(self._item(index, item, sessions, enabled, ptypes, samples,
                                   visible_inputs, names_seen))
        self._check_existing_names(names_seen)
        if self.errors:
            raise IngestError(dict(self.errors))
        return rows

    def _item(self, index, item, sessions, enabled, ptypes, samples, visible_inputs, names_seen):
        at = f"datasets[{index}]"
        if not isinstance(item, dict):
            self.err(at, "Expected an object.")
            return None
        for unknown in sorted(set(item) - DATASET_FIELDS):
            self.err(f"{at}.{unknown}", "Unknown field.")
        session = sessions.get(_session_key(item.get("session")))
        if "session" not in item:
            self.err(f"{at}.session", "This field is required.")
        elif session is None:
            self.err(f"{at}.session", f"Session {item['session']!r} not found.")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            self.err(f"{at}.name", "A non-empty name of at most 255 characters is required.")
        technique = item.get("technique")
        if technique not in enabled:
            self.err(f"{at}.technique", f"Unknown technique {technique!r}. Enabled: "
                                        f"{', '.join(sorted(enabled)) or 'none'}.")
        fields = {"name": name, "technique": technique}
        for choice_field, choices in (("kind", Dataset.Kind), ("state", Dataset.State)):
            value = item.get(choice_field, Dataset._meta.get_field(choice_field).default)
            if value not in choices.values:
                self.err(f"{at}.{choice_field}", f"{value!r} is not one of "
                                                 f"{', '.join(choices.values)}.")
            fields[choice_field] = value
        for text_field in ("location", "comments"):
            value = item.get(text_field, "")
            if not isinstance(value, str):
                self.err(f"{at}.{text_field}", "Expected text.")
            fields[text_field] = value
        for time_field in ("start_time", "end_time"):
            value = item.get(time_field)
            parsed = parse_datetime(value) if isinstance(value, str) else None
            if value is not None and (parsed is None or parsed.tzinfo is None):
                self.err(f"{at}.{time_field}", "Expected an ISO 8601 time with a time zone.")
            fields[time_field] = parsed
        start, end = fields["start_time"], fields["end_time"]
        if start and end and end < start:
            self.err(f"{at}.end_time", "end_time is before start_time.")
        sample = None
        if item.get("sample") is not None:
            sample = samples.get(item["sample"])
            if sample is None:
                self.err(f"{at}.sample", f"Sample {item['sample']!r} not found.")
            elif session is not None and sample.proposal_id != session.proposal_id:
                self.err(f"{at}.sample", "The sample belongs to another proposal.")
        if session is not None and isinstance(name, str):
            key = (session.pk, name)
            if key in names_seen:
                self.err(f"{at}.name", f"Also used by datasets[{names_seen[key]}] "
                                       f"in session {session.reference}.")
            else:
                names_seen[key] = index
        return {
            "index": index,
            "fields": {**fields, "session": session, "sample": sample},
            "parameters": self._parameters(at, item.get("parameters", {}), ptypes),
            "files": self._files(at, item.get("files", [])),
            "inputs": self._inputs(at, item.get("inputs", []), visible_inputs),
        }

    def _parameters(self, at, values, ptypes):
        if not isinstance(values, dict):
            self.err(f"{at}.parameters", "Expected an object of key: value.")
            return []
        rows = []
        for key, raw in values.items():
            ptype = ptypes.get(key)
            if ptype is None:
                self.err(f"{at}.parameters.{key}", "Unknown parameter (not in the dictionary).")
                continue
            try:
                rows.append((ptype, coerce(ptype, raw)))
            except DjangoValidationError as exc:
                for message in exc.messages:
                    self.err(f"{at}.parameters.{key}", message)
        return rows

    def _files(self, at, files):
        if not isinstance(files, list):
            self.err(f"{at}.files", "Expected a list.")
            return []
        rows, paths = [], set()
        for j, f in enumerate(files):
            where = f"{at}.files[{j}]"
            if not isinstance(f, dict) or not isinstance(f.get("path"), str) or not f["path"]:
                self.err(f"{where}.path", "Each file needs a path.")
                continue
            for unknown in sorted(set(f) - FILE_FIELDS):
                self.err(f"{where}.{unknown}", "Unknown field.")
            if f["path"] in paths:
                self.err(f"{where}.path", "Listed twice.")
            size = f.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool)
                                     or size < 0):
                self.err(f"{where}.size", "Expected a number of bytes (an integer ≥ 0).")
            paths.add(f["path"])
            rows.append({k: f.get(k) if k in ("size",) else f.get(k, "") for k in FILE_FIELDS
                         if k in f} | {"path": f["path"]})
        return rows

    def _inputs(self, at, inputs, visible_inputs):
        if not isinstance(inputs, list):
            self.err(f"{at}.inputs", "Expected a list of {\"dataset\": id, \"role\": …}.")
            return []
        rows = []
        for j, link in enumerate(inputs):
            where = f"{at}.inputs[{j}]"
            if not isinstance(link, dict):
                self.err(where, "Expected {\"dataset\": id, \"role\": …}.")
                continue
            ref = link.get("dataset")
            if isinstance(ref, int) and ref in visible_inputs:
                rows.append(("id", ref, str(link.get("role", "input"))))
            elif isinstance(ref, str) and ref.startswith("#") and ref[1:].isdigit() \
                    and int(ref[1:]) < len(self.items):
                rows.append(("item", int(ref[1:]), str(link.get("role", "input"))))
            else:
                self.err(f"{where}.dataset", f"Dataset {ref!r} not found (use an id, or "
                                             f"'#N' for item N of this request).")
        return rows

    def _check_existing_names(self, names_seen):
        if not names_seen:
            return
        by_session = defaultdict(list)
        for session_id, name in names_seen:
            by_session[session_id].append(name)
        clash = set()
        for session_id, names in by_session.items():
            clash |= {(session_id, n) for n in Dataset.objects.filter(
                session_id=session_id, name__in=names).values_list("name", flat=True)}
        for key in sorted(clash, key=lambda k: names_seen[k]):
            self.err(f"datasets[{names_seen[key]}].name",
                     f"A dataset named {key[1]!r} already exists in this session.")


def _write(rows) -> list[Dataset]:
    datasets = Dataset.objects.bulk_create(Dataset(**row["fields"]) for row in rows)
    values, files, links = [], [], []
    for row, dataset in zip(rows, datasets, strict=True):
        values += [(dataset.pk, ptype.pk, c["number"], c["text"], c["vector"])
                   for ptype, c in row["parameters"]]
        files += [Datafile(dataset=dataset, **f) for f in row["files"]]
        for source, ref, role in row["inputs"]:
            input_id = datasets[ref].pk if source == "item" else ref
            if input_id == dataset.pk:
                raise IngestError({f"datasets[{row['index']}].inputs":
                                   ["A dataset cannot be its own input."]})
            links.append(DatasetLink(output=dataset, input_id=input_id, role=role))
    insert_rows(ParameterValue, ("dataset", "type", "number", "text", "vector"), values)
    Datafile.objects.bulk_create(files, batch_size=2000)
    DatasetLink.objects.bulk_create(links, batch_size=2000)
    dataset_created_in_bulk(datasets)
    return datasets


def ingest(user, payload: Any, idempotency_key: str | None = None) -> tuple[int, dict]:
    """Validate and write ``payload``; returns ``(http status, response body)``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("datasets"), list):
        raise IngestError({"datasets": ["Expected {\"datasets\": [...]}."]})
    unknown = set(payload) - {"datasets"}
    if unknown:
        raise IngestError({k: ["Unknown field."] for k in sorted(unknown)})
    items = payload["datasets"]
    if not items:
        raise IngestError({"datasets": ["Give at least one dataset."]})
    if len(items) > MAX_DATASETS:
        raise IngestError({"datasets": [f"At most {MAX_DATASETS} datasets per request."]})
    digest = body_hash(payload)
    if idempotency_key:
        previous = _replay(user, idempotency_key, digest)
        if previous is not None:
            return previous
    rows = _Validator(user, items).validate()
    try:
        with transaction.atomic():
            datasets = _write(rows)
            body = {
                "created": len(datasets),
                "datasets": [{"id": d.pk, "name": d.name, "session": d.session_id}
                             for d in datasets],
            }
            IngestRequest.objects.create(person=user, key=idempotency_key, body_hash=digest,
                                         response=body)
    except IntegrityError:
        # A concurrent request with the same key (or names) won the race: answer as it did.
        if idempotency_key:
            previous = _replay(user, idempotency_key, digest)
            if previous is not None:
                return previous
        raise IngestError({"datasets": ["Some of these datasets were written meanwhile by "
                                        "another request; nothing was written."]},
                          status=409) from None
    return 201, body


def _replay(user, key: str, digest: str):
    previous = IngestRequest.objects.filter(person=user, key=key).first()
    if previous is None:
        return None
    if previous.body_hash != digest:
        raise IngestError({"idempotency_key": [
            "This key was used before with a different request body."]}, status=422)
    return 200, {**previous.response, "replayed": True}


__all__ = ["IngestError", "ingest"]
