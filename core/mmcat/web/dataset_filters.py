"""The dataset filters of the session page, shared by the page, its live updates and its CSV
export: technique, kind, state, and parameter ranges turned into ``key__gte:min unit`` /
``key__lte:max unit`` expressions for :func:`mmcat.search.filter_by_parameters`.

Bad input never raises: each range row carries its own messages, shown next to it, and a bad
row is left out of the query (the page says so)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from ..models import Dataset, ParameterType
from ..search import filter_by_parameters, parse_expression

RANGE_KINDS = (ParameterType.Kind.NUMBER, ParameterType.Kind.INTEGER)


@dataclass
class RangeRow:
    key: str = ""
    min: str = ""
    max: str = ""
    unit: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not (self.key or self.min or self.max or self.unit)

    def expressions(self) -> list[str]:
        unit = f" {self.unit}" if self.unit else ""
        found = []
        if self.min:
            found.append(f"{self.key}__gte:{self.min}{unit}")
        if self.max:
            found.append(f"{self.key}__lte:{self.max}{unit}")
        return found


@dataclass
class DatasetFilter:
    technique: str = ""
    kind: str = ""
    state: str = ""
    ranges: list[RangeRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.technique or self.kind or self.state or self.ranges)

    @property
    def invalid(self) -> bool:
        return bool(self.errors) or any(r.errors for r in self.ranges)

    @property
    def rows(self) -> list[RangeRow]:
        """The range rows to show: the ones given, then one blank row to add another."""
        return [*self.ranges, RangeRow()]

    def querystring(self) -> str:
        """The filters as a query string (for the live updates, the CSV export, the pager)."""
        pairs = [(name, getattr(self, name)) for name in ("technique", "kind", "state")]
        for row in self.ranges:
            pairs += [("param", row.key), ("min", row.min), ("max", row.max),
                      ("unit", row.unit)]
        return urlencode([(k, v) for k, v in pairs if v or k in ("param", "min", "max", "unit")])

    def expressions(self) -> list[str]:
        return [e for row in self.ranges if not row.errors for e in row.expressions()]

    def apply(self, queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
        if self.technique:
            queryset = queryset.filter(technique=self.technique)
        if self.kind and "kind" not in self.errors:
            queryset = queryset.filter(kind=self.kind)
        if self.state and "state" not in self.errors:
            queryset = queryset.filter(state=self.state)
        expressions = self.expressions()
        if expressions:
            try:
                queryset = filter_by_parameters(queryset, expressions)
            except ValidationError as exc:  # checked row by row already; kept as a safety net
                self.errors.setdefault("param", []).extend(exc.messages)
        return queryset


def _one(data, name: str, size: int = 80) -> str:
    return (data.get(name) or "").strip()[:size]


def parse_filters(data, ptypes: dict[str, ParameterType]) -> DatasetFilter:
    """Read the filters from ``request.GET``; ``ptypes`` are the searchable dictionary entries.
    Every problem becomes a message naming the field; nothing raises."""
    result = DatasetFilter(technique=_one(data, "technique", 40), kind=_one(data, "kind"),
                           state=_one(data, "state"))
    if result.kind and result.kind not in Dataset.Kind.values:
        result.errors["kind"] = [f"Kind: '{result.kind}' is not one of "
                                 f"{', '.join(Dataset.Kind.values)}."]
    if result.state and result.state not in Dataset.State.values:
        result.errors["state"] = [f"State: '{result.state}' is not one of "
                                  f"{', '.join(Dataset.State.values)}."]
    columns = [data.getlist(name)[:20] for name in ("param", "min", "max", "unit")]
    length = max((len(c) for c in columns), default=0)
    for index in range(length):
        key, low, high, unit = (
            (c[index] if index < len(c) else "").strip()[:80] for c in columns
        )
        row = RangeRow(key=key, min=low, max=high, unit=unit)
        if row.blank:
            continue
        result.ranges.append(row)
        if not key:
            row.errors.append("Parameter: choose the parameter this range is about.")
            continue
        if not (low or high):
            row.errors.append("Minimum, maximum: give at least one of them.")
            continue
        for label, expression in zip(("Minimum", "Maximum"), _bounds(row), strict=True):
            if expression is None:
                continue
            try:
                parse_expression(expression, ptypes)
            except ValidationError as exc:
                row.errors.extend(f"{label}: {message}" for message in exc.messages)
    return result


def _bounds(row: RangeRow) -> tuple[str | None, str | None]:
    unit = f" {row.unit}" if row.unit else ""
    low = f"{row.key}__gte:{row.min}{unit}" if row.min else None
    high = f"{row.key}__lte:{row.max}{unit}" if row.max else None
    return low, high
