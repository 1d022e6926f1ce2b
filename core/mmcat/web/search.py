"""The search page: the datasets the user may see, by text (dataset, sample, session, proposal),
technique, kind and ranges of parameters in any unit. A GET form, so a search is a URL to share.

Parameter rows are ``p<n>`` (the key), ``min<n>``, ``max<n>`` and ``unit<n>`` (empty: the
parameter's own unit); each becomes ``key__gte:min unit`` / ``key__lte:max unit`` for
:func:`mmcat.search.filter_by_parameters`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.shortcuts import render
from django.urls import path

from .. import permissions as perms
from ..dictionary import techniques
from ..models import Dataset, ParameterType, ParameterValue
from ..search import filter_by_parameters
from ..units import UnitError, convert
from .proposals import paginate

MAX_ROWS = 10
ROW_RE = re.compile(r"^(?:p|min|max|unit)(\d{1,3})$")
REF_RE = re.compile(r"^(?P<code>[a-z]+)(?P<number>\d{1,9})(?:-(?P<session>\d{1,9}))?$")
RANGE_KINDS = (ParameterType.Kind.NUMBER, ParameterType.Kind.INTEGER)
KEY_PARAMETERS = 6
MAX_INT = 2**31 - 1
FIELDS = {"param": "parameter", "min": "minimum", "max": "maximum", "unit": "unit"}


@dataclass
class Row:
    """One parameter range of the form, as typed, and what is wrong with it."""

    key: str = ""
    min: str = ""
    max: str = ""
    unit: str = ""
    number: int = 0
    errors: dict = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not (self.key or self.min or self.max or self.unit)

    def messages(self):
        for name, message in self.errors.items():
            yield f"Parameter range {self.number}, {FIELDS[name]}: {message}"


def read_rows(query) -> list[Row]:
    """The non-blank rows of the query string, in the order of their numbers, renumbered."""
    numbers = sorted({int(m[1]) for key in query if (m := ROW_RE.match(key))})
    rows = []
    for n in numbers:
        row = Row(*(query.get(f"{name}{n}", "").strip()[:60] for name in
                    ("p", "min", "max", "unit")))
        if not row.blank:
            rows.append(row)
    rows = rows[:MAX_ROWS]
    for number, row in enumerate(rows, start=1):
        row.number = number
    return rows


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_row(row: Row, ptypes: dict[str, ParameterType]) -> list[str]:
    """Fill ``row.errors``; return the row's expressions when it is right."""
    ptype = ptypes.get(row.key)
    if not row.key:
        row.errors["param"] = "choose a parameter."
    elif ptype is None:
        row.errors["param"] = f"'{row.key}' is not a searchable number parameter."
    bounds = {}
    for name in ("min", "max"):
        raw = getattr(row, name)
        if raw:
            bounds[name] = _number(raw)
            if bounds[name] is None:
                row.errors[name] = f"'{raw}' is not a number."
    if not row.min and not row.max:
        row.errors["min"] = "give a minimum, a maximum or both."
    if ptype is not None and row.unit and row.unit != ptype.unit:
        if not ptype.unit:
            row.errors["unit"] = f"{ptype.label} has no unit; leave the unit empty."
        else:
            try:
                convert(1.0, row.unit, ptype.unit)
            except UnitError as exc:
                row.errors["unit"] = f"{exc} (use a unit of {ptype.unit})."
    if (not row.errors and bounds.get("min") is not None and bounds.get("max") is not None
            and bounds["min"] > bounds["max"]):
        row.errors["max"] = f"the maximum {row.max} is below the minimum {row.min}."
    if row.errors:
        return []
    unit = f" {row.unit}" if row.unit else ""
    return [f"{row.key}__{op}:{bounds[name]!r}{unit}"
            for name, op in (("min", "gte"), ("max", "lte")) if name in bounds]


def text_filter(text: str) -> Q:
    """Dataset name, sample, proposal title (case-insensitive, anywhere), and proposal or
    session references (``mx1234``, ``mx1234-5``) exactly."""
    condition = (Q(name__icontains=text) | Q(sample__name__icontains=text)
                 | Q(sample__component__icontains=text)
                 | Q(session__proposal__title__icontains=text))
    ref = REF_RE.match(text.lower().replace(" ", ""))
    if ref and int(ref["number"]) <= MAX_INT and int(ref["session"] or 0) <= MAX_INT:
        by_ref = Q(session__proposal__code=ref["code"],
                   session__proposal__number=int(ref["number"]))
        if ref["session"]:
            by_ref &= Q(session__number=int(ref["session"]))
        condition |= by_ref
    component, dash, name = text.partition("-")
    if dash and component and name:  # a sample as shown: component-name
        condition |= Q(sample__component__iexact=component, sample__name__istartswith=name)
    return condition


def searchable_types():
    return list(ParameterType.objects.filter(searchable=True, value_kind__in=RANGE_KINDS)
                .order_by("technique", "label", "key"))


def _key_parameters(datasets, searched: list[str]) -> None:
    """Attach ``key_params``: the searched parameters first, then the others in the order their
    technique declares them (most telling first, e.g. space group before R-factors)."""
    if not datasets:
        return
    values = ParameterValue.objects.filter(
        dataset__in=[d.pk for d in datasets], type__searchable=True
    ).exclude(type__value_kind=ParameterType.Kind.VECTOR).select_related("type")
    by_dataset = {}
    for value in values:
        by_dataset.setdefault(value.dataset_id, []).append(value)
    rank = {key: i for i, key in enumerate(searched)}
    for d in datasets:
        found = sorted(by_dataset.get(d.pk, []),
                       key=lambda v: (rank.get(v.type.key, len(rank)), v.type_id))
        d.key_params = found[:KEY_PARAMETERS]
        d.more_params = len(found) - len(d.key_params)


@login_required
def search(request):
    query = request.GET
    text = query.get("q", "").strip()[:200]
    technique_choices = sorted(((slug, spec.label) for slug, spec in techniques().items()),
                               key=lambda c: c[1].lower())
    technique = query.get("technique", "")
    technique = technique if technique in dict(technique_choices) else ""
    kind = query.get("kind", "")
    kind = kind if kind in Dataset.Kind.values else ""
    ptypes = searchable_types()
    by_key = {p.key: p for p in ptypes}
    rows = read_rows(query)
    expressions = [e for row in rows for e in check_row(row, by_key)]
    errors = [message for row in rows for message in row.messages()]

    datasets = perms.visible_datasets(request.user).select_related(
        "session__proposal", "session__beamline", "sample"
    ).order_by(F("start_time").desc(nulls_last=True), "-id")
    if text:
        datasets = datasets.filter(text_filter(text))
    if technique:
        datasets = datasets.filter(technique=technique)
    if kind:
        datasets = datasets.filter(kind=kind)
    if not errors and expressions:
        try:
            datasets = filter_by_parameters(datasets, expressions)
        except ValidationError as exc:  # checked above; a last guard, never a 500
            errors = [f"Parameters: {m}" for m in exc.messages]
    page = None
    if not errors:
        page = paginate(request, datasets)
        page.object_list = list(page.object_list)
        _key_parameters(page.object_list, [r.key for r in rows])
    blank_rows = min(2 if "more" in query else 1, MAX_ROWS - len(rows))
    context = {
        "q": text,
        "technique": technique,
        "techniques": technique_choices,
        "kind": kind,
        "kinds": Dataset.Kind.choices,
        "ptypes": ptypes,
        "rows": [*rows, *(Row(number=len(rows) + i) for i in range(1, blank_rows + 1))],
        "next_row": len(rows) + blank_rows + 1,
        "max_rows": MAX_ROWS,
        "errors": errors,
        "page": page,
        "searched": bool(text or technique or kind or rows),
    }
    return render(request, "mmcat/search/search.html", context, status=400 if errors else 200)


@login_required
def search_row(request, number):
    """One more blank parameter row (htmx), and the "add" button for the one after it."""
    number = max(1, min(number, MAX_ROWS))
    return render(request, "mmcat/search/_row.html", {
        "row": Row(number=number), "ptypes": searchable_types(), "next_row": number + 1,
        "oob": True, "max_rows": MAX_ROWS,
    })


urlpatterns = [
    path("search/", search, name="search"),
    path("search/row/<int:number>/", search_row, name="search-row"),
]
