"""The data dictionary: parameter types declared by techniques, and the one place where a
parameter value is validated, converted to its canonical unit and stored."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from .models import ParameterType, ParameterValue
from .plugins.manager import collect
from .units import UnitError, convert

Kind = ParameterType.Kind


def techniques():
    """Every enabled technique, ``{slug: TechniqueSpec}``."""
    return {spec.slug: spec for spec in collect("mmcat_techniques")}


def sync_parameter_types() -> int:
    """Upsert the parameter types the enabled techniques declare. Returns how many."""
    count = 0
    for technique in techniques().values():
        for spec in technique.parameters:
            ParameterType.objects.update_or_create(
                key=spec.key,
                defaults={
                    "label": spec.label,
                    "unit": spec.unit,
                    "value_kind": spec.value_kind,
                    "minimum": spec.minimum,
                    "maximum": spec.maximum,
                    "choices": list(spec.choices),
                    "mmcif_item": spec.mmcif_item,
                    "searchable": spec.searchable,
                    "technique": technique.slug,
                    "description": spec.description,
                },
            )
            count += 1
    return count


def _number(ptype: ParameterType, raw: Any, unit: str | None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValidationError(f"{ptype.key}: expected a number, got {raw!r}.")
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(f"{ptype.key}: expected a number, got {raw!r}.") from None
    if not math.isfinite(value):
        raise ValidationError(f"{ptype.key}: expected a finite number, got {raw!r}.")
    if unit and unit != ptype.unit:
        if not ptype.unit:
            raise ValidationError(f"{ptype.key}: has no unit, but '{unit}' was given.")
        try:
            value = convert(value, unit, ptype.unit)
        except UnitError as exc:
            raise ValidationError(f"{ptype.key}: {exc}.") from None
    if ptype.value_kind == Kind.INTEGER and value != int(value):
        raise ValidationError(f"{ptype.key}: expected an integer, got {raw!r}.")
    check_range(ptype, value)
    return value


def check_range(ptype: ParameterType, value: float) -> None:
    unit = f" {ptype.unit}" if ptype.unit else ""
    if ptype.minimum is not None and value < ptype.minimum:
        raise ValidationError(f"{ptype.key}: {value:g}{unit} is below the minimum "
                              f"{ptype.minimum:g}{unit}.")
    if ptype.maximum is not None and value > ptype.maximum:
        raise ValidationError(f"{ptype.key}: {value:g}{unit} is above the maximum "
                              f"{ptype.maximum:g}{unit}.")


def _datetime(ptype: ParameterType, raw: Any) -> str:
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise ValidationError(f"{ptype.key}: expected an ISO 8601 date and time, got {raw!r}.")
    if parsed.tzinfo is None:
        raise ValidationError(f"{ptype.key}: the time needs a time zone, e.g. 'Z' or '+01:00'.")
    return parsed.astimezone(UTC).isoformat()


def coerce(ptype: ParameterType, raw: Any) -> dict[str, Any]:
    """Validate one incoming value and return the columns to store.

    ``raw`` is a plain value or ``{"value": v, "unit": "nm"}``. Raises ``ValidationError`` whose
    message starts with the parameter key.
    """
    unit = None
    if isinstance(raw, dict):
        unknown = set(raw) - {"value", "unit"}
        if "value" not in raw or unknown:
            raise ValidationError(f"{ptype.key}: give a value or {{\"value\": …, \"unit\": …}}.")
        unit, raw = raw.get("unit") or None, raw["value"]
        if unit is not None and not isinstance(unit, str):
            raise ValidationError(f"{ptype.key}: the unit must be a string.")
    if raw is None:
        raise ValidationError(f"{ptype.key}: a value is required.")
    kind = ptype.value_kind
    if kind in (Kind.NUMBER, Kind.INTEGER):
        return {"number": _number(ptype, raw, unit), "text": None, "vector": None}
    if unit:
        raise ValidationError(f"{ptype.key}: a {kind} value takes no unit.")
    if kind == Kind.VECTOR:
        if not isinstance(raw, list | tuple) or not raw:
            raise ValidationError(f"{ptype.key}: expected a list of numbers.")
        return {"number": None, "text": None, "vector": [_number(ptype, v, None) for v in raw]}
    if kind == Kind.DATETIME:
        return {"number": None, "text": _datetime(ptype, raw), "vector": None}
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValidationError(f"{ptype.key}: expected text, got {raw!r}.")
    text = str(raw)
    if len(text) > 255:
        raise ValidationError(f"{ptype.key}: text longer than 255 characters.")
    if kind == Kind.ENUM and text not in ptype.choices:
        raise ValidationError(f"{ptype.key}: {text!r} is not one of {', '.join(ptype.choices)}.")
    return {"number": None, "text": text, "vector": None}


def types_by_key(keys) -> dict[str, ParameterType]:
    return {p.key: p for p in ParameterType.objects.filter(key__in=list(keys))}


def validate_parameters(values: dict[str, Any], ptypes: dict[str, ParameterType]):
    """Coerce a ``{"key": value}`` mapping; returns ``[(ptype, columns)]``.

    Raises ``ValidationError`` with a dict ``{key: [message]}`` listing every bad parameter.
    """
    if not isinstance(values, dict):
        raise ValidationError("Parameters must be an object of key: value.")
    errors, rows = {}, []
    for key, raw in values.items():
        ptype = ptypes.get(key)
        if ptype is None:
            errors[key] = [f"{key}: unknown parameter (not in the data dictionary)."]
            continue
        try:
            rows.append((ptype, coerce(ptype, raw)))
        except ValidationError as exc:
            errors[key] = exc.messages
    if errors:
        raise ValidationError(errors)
    return rows


def set_parameters(dataset, values: dict[str, Any]) -> None:
    """Validate and write (insert or replace) parameters of one dataset."""
    rows = validate_parameters(values, types_by_key(values))
    for ptype, columns in rows:
        ParameterValue.objects.update_or_create(dataset=dataset, type=ptype, defaults=columns)


def parameters_as_dict(dataset_values) -> dict[str, Any]:
    return {pv.type.key: pv.value for pv in dataset_values}
