"""Unit conversion for parameter values (pint), with the units structural biology writes."""

from __future__ import annotations

import functools

import pint


@functools.cache
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry()
    ureg.define("photon = count = ph")
    return ureg


class UnitError(ValueError):
    pass


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit``; :class:`UnitError` if impossible."""
    if from_unit == to_unit:
        return value
    ureg = registry()
    try:
        return float(ureg.Quantity(value, from_unit).to(to_unit).magnitude)
    except pint.errors.UndefinedUnitError as exc:
        raise UnitError(f"unknown unit '{from_unit}'") from exc
    except pint.errors.DimensionalityError as exc:
        raise UnitError(f"cannot convert '{from_unit}' to '{to_unit}'") from exc
    except (pint.errors.PintError, AttributeError, TypeError) as exc:
        raise UnitError(f"unknown unit '{from_unit}'") from exc
