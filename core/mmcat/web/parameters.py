"""Parameters of many datasets for a list page, read in one light query.

Building a model instance per value (and one per type) is most of the cost of a busy list page;
a list needs only the values, so it reads plain rows and the dictionary once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..models import ParameterType, ParameterValue
from ..models.parameters import typed_value


@dataclass(frozen=True, slots=True)
class Shown:
    """One parameter value as a list shows it."""

    type: ParameterType
    number: float | None
    text: str | None
    vector: list | None

    @property
    def value(self) -> Any:
        return typed_value(self.type, self.number, self.text, self.vector)


def attach(datasets, types_by_id: dict[int, ParameterType], *, vectors: bool = False):
    """Set ``dataset.shown_parameters`` (sorted by key) on each of ``datasets``."""
    by_dataset = defaultdict(list)
    values = ParameterValue.objects.filter(dataset_id__in=[d.pk for d in datasets])
    for dataset_id, type_id, number, text, vector in values.values_list(
            "dataset_id", "type_id", "number", "text", "vector"):
        ptype = types_by_id[type_id]
        if vectors or ptype.value_kind != ParameterType.Kind.VECTOR:
            by_dataset[dataset_id].append(Shown(ptype, number, text, vector))
    for d in datasets:
        d.shown_parameters = sorted(by_dataset.get(d.pk, ()), key=lambda p: p.type.key)
    return datasets


def formatted(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(f"{v:.6g}" for v in value)
    return str(value)


def spans(parameters) -> SafeString:
    """``<span title="label (mmCIF item)" data-key="key">key=value unit</span>`` for each,
    every part escaped (this runs for each value of a list page, so it avoids format_html)."""
    out = []
    for p in parameters:
        ptype = p.type
        title = f"{ptype.label} ({ptype.mmcif_item})" if ptype.mmcif_item else ptype.label
        unit = f" {ptype.unit}" if ptype.unit else ""
        out.append(f'<span title="{escape(title)}" data-key="{escape(ptype.key)}">'
                   f"{escape(ptype.key)}={escape(formatted(p.value))}{escape(unit)}</span>")
    return mark_safe(" ".join(out))  # every part is escaped above
