"""The normalised result shared by every processing-output parser.

``autoproc_xml`` defined the vocabulary (ISPyB AutoProcScalingStatistics); aimless, xia2 and
fast_dp parsers return the same keys so that ingestion stores any of them the same way:
R values and CC as fractions, completeness in percent, None where a format lacks a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._common import fail

SHELL_KEYS = (
    "resolution_low",
    "resolution_high",
    "r_merge",
    "r_meas_within",
    "r_meas_all",
    "r_pim_within",
    "r_pim_all",
    "n_observations",
    "n_unique",
    "mean_i_over_sigma",
    "completeness",
    "multiplicity",
    "cc_half",
    "cc_anomalous",
    "anomalous_completeness",
    "anomalous_multiplicity",
    "dano_over_sigdano",
)
SHELL_NAMES = ("overall", "inner", "outer")
CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")
INT_KEYS = frozenset({"n_observations", "n_unique"})


def empty_shell() -> dict[str, Any]:
    """A shell with every normalised key set to None."""
    return dict.fromkeys(SHELL_KEYS)


def shells_from_columns(
    values: dict[str, list[float | None]], path: Path
) -> dict[str, dict[str, Any]]:
    """Turn ``{key: [overall, inner, outer]}`` into ``{"overall": {...}, "inner": ..., ...}``.

    Keys not in :data:`SHELL_KEYS` are ignored here (callers keep them separately); counts are
    checked to be whole numbers.
    """
    shells = {name: empty_shell() for name in SHELL_NAMES}
    for key, column in values.items():
        if key not in SHELL_KEYS:
            continue
        for name, value in zip(SHELL_NAMES, column, strict=False):
            if key in INT_KEYS and value is not None:
                if not float(value).is_integer():
                    raise fail(path, f"{key} is not an integer: {value!r}")
                value = int(value)
            shells[name][key] = value
    return shells


def cell_dict(numbers: list[float | None] | None) -> dict[str, float | None]:
    """Six numbers as {a, b, c, alpha, beta, gamma}; all None when absent."""
    if not numbers:
        return dict.fromkeys(CELL_KEYS)
    return dict(zip(CELL_KEYS, numbers, strict=True))
