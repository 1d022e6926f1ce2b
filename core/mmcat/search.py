"""Parameter search: ``key__op:value[unit]`` expressions turned into index range scans.

Examples: ``resolution_high__lte:1.5``, ``wavelength__gt:0.09nm``, ``space_group:P212121``.
Operators: ``exact`` (default), ``lt``, ``lte``, ``gt``, ``gte``, ``ne``, ``contains`` (text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .dictionary import coerce
from .models import ParameterType, ParameterValue

OPERATORS = {"exact", "lt", "lte", "gt", "gte", "ne", "contains"}
EXPR_RE = re.compile(r"^(?P<key>[-\w]+?)(?:__(?P<op>[a-z]+))?:(?P<value>.+)$")
NUMBER_UNIT_RE = re.compile(
    r"^\s*(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)


@dataclass(frozen=True)
class ParamFilter:
    ptype: ParameterType
    op: str
    columns: dict

    def values(self, within: QuerySet | None = None) -> QuerySet:
        """Dataset ids matching this condition (one index range scan), optionally only among
        the ids of ``within``."""
        kind = self.ptype.value_kind
        column = "number" if kind in ("number", "integer") else "text"
        value = self.columns[column]
        qs = ParameterValue.objects.filter(type=self.ptype)
        if self.op == "ne":
            qs = qs.exclude(**{column: value})
        elif self.op == "exact":
            qs = qs.filter(**{column: value})
        elif self.op == "contains":
            qs = qs.filter(text__icontains=value)
        else:
            qs = qs.filter(**{f"{column}__{self.op}": value})
        if within is not None:
            qs = qs.filter(dataset_id__in=within)
        return qs.values("dataset_id")


def parse_expression(expression: str, ptypes: dict[str, ParameterType]) -> ParamFilter:
    """Parse one ``key__op:value`` expression; ``ValidationError`` says exactly what is wrong."""
    match = EXPR_RE.match(expression.strip())
    if not match:
        raise ValidationError(
            f"'{expression}': expected key__op:value, e.g. resolution_high__lte:1.5."
        )
    key, op, raw = match["key"], match["op"] or "exact", match["value"].strip()
    if op not in OPERATORS:
        raise ValidationError(
            f"'{expression}': unknown operator '{op}'; use one of {', '.join(sorted(OPERATORS))}."
        )
    ptype = ptypes.get(key)
    if ptype is None:
        raise ValidationError(f"'{expression}': unknown parameter '{key}'.")
    if not ptype.searchable:
        raise ValidationError(f"'{expression}': parameter '{key}' is not searchable.")
    numeric = ptype.value_kind in ("number", "integer")
    if ptype.value_kind == "vector":
        raise ValidationError(f"'{expression}': vector parameters cannot be searched.")
    if op == "contains":
        if numeric:
            raise ValidationError(f"'{expression}': 'contains' works on text parameters only.")
        return ParamFilter(ptype, op, {"text": raw})
    if numeric:
        number = NUMBER_UNIT_RE.match(raw)
        if not number:
            raise ValidationError(f"'{expression}': '{raw}' is not a number.")
        value = {"value": float(number["num"]), "unit": number["unit"] or None}
        # ranges are searched, not stored: a bound may lie outside the allowed range
        probe = ParameterType(key=ptype.key, unit=ptype.unit, value_kind="number")
    else:
        value, probe = raw, ptype
        if ptype.value_kind == "enum" and op != "exact" and op != "ne":
            probe = ParameterType(key=ptype.key, value_kind="text")
    return ParamFilter(ptype, op, coerce(probe, value))


def filter_by_parameters(queryset: QuerySet, expressions: list[str]) -> QuerySet:
    """Narrow a Dataset queryset by parameter expressions (all must hold)."""
    if not expressions:
        return queryset
    keys = {e.split(":", 1)[0].split("__", 1)[0] for e in expressions}
    ptypes = {p.key: p for p in ParameterType.objects.filter(key__in=keys)}
    errors = []
    filters = []
    for expression in expressions:
        try:
            filters.append(parse_expression(expression, ptypes))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"param": errors})
    # One nested chain of index scans on the values table, met by the datasets table once.
    matching = None
    for f in filters:
        matching = f.values(within=matching)
    return queryset.filter(pk__in=matching)
