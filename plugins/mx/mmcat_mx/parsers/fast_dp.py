"""Parser for fast_dp's ``fast_dp.json``.

Written to the documented layout (shared reference README, row 29): top-level ``spacegroup``,
``unit_cell`` (six numbers), ``refined_beam`` (two numbers, mm), ``commandline``, and
``scaling_statistics.{overall,innerShell,outerShell}`` with ``res_lim_low``, ``res_lim_high``,
``r_merge``, ``r_meas_all_iplusi_minus``, ``n_tot_obs``, ``n_tot_unique_obs``, ``mean_i_sig_i``,
``completeness``, ``multiplicity``, ``cc_half``, ``anom_completeness``, ``anom_multiplicity``
and ``cc_anom``. fast_dp takes these from AIMLESS, so R and CC are fractions and completeness
is in percent, as in the normalised result. A ``wavelength`` key is used when present (the
documented layout has none). Unknown keys are ignored; a value of the wrong type is an error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float
from ._shells import cell_dict, empty_shell

FORMAT = "fast_dp_json"
SNIFF_BYTES = 65536

#: fast_dp shell key -> normalised key.
SHELL_MAP = {
    "res_lim_low": "resolution_low",
    "res_lim_high": "resolution_high",
    "r_merge": "r_merge",
    "r_meas_all_iplusi_minus": "r_meas_all",
    "r_meas_within_iplusi_minus": "r_meas_within",
    "r_pim_all_iplusi_minus": "r_pim_all",
    "r_pim_within_iplusi_minus": "r_pim_within",
    "n_tot_obs": "n_observations",
    "n_tot_unique_obs": "n_unique",
    "mean_i_sig_i": "mean_i_over_sigma",
    "completeness": "completeness",
    "multiplicity": "multiplicity",
    "cc_half": "cc_half",
    "anom_completeness": "anomalous_completeness",
    "anom_multiplicity": "anomalous_multiplicity",
    "cc_anom": "cc_anomalous",
}
SHELL_NAMES = {"overall": "overall", "innerShell": "inner", "outerShell": "outer"}
_INT_KEYS = {"n_observations", "n_unique"}


def detect(path: Path) -> bool:
    """True for a JSON object with ``scaling_statistics`` and ``spacegroup`` near its start."""
    head = read_head(path, SNIFF_BYTES).lstrip()
    return (
        head.startswith("{")
        and re.search(r'"scaling_statistics"\s*:', head) is not None
        and re.search(r'"spacegroup"\s*:', head) is not None
    )


def parse(path: Path) -> dict[str, Any]:
    """Parse a fast_dp.json; raise ParseError if it is not one or is malformed."""
    path = Path(path)
    try:
        data = json.loads(read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(path, f"malformed or truncated JSON ({exc})") from None
    if not isinstance(data, dict) or "scaling_statistics" not in data:
        raise fail(path, "no 'scaling_statistics' object; not a fast_dp.json")
    stats = data["scaling_statistics"]
    if not isinstance(stats, dict) or not isinstance(stats.get("overall"), dict):
        raise fail(path, "'scaling_statistics' has no 'overall' shell")
    space_group = data.get("spacegroup")
    if space_group is not None and not isinstance(space_group, str):
        raise fail(path, f"'spacegroup' must be text, got {space_group!r}")
    commandline = data.get("commandline")
    return {
        "format": FORMAT,
        "program": {
            "name": "fast_dp",
            "version": None,
            "command_line": commandline if isinstance(commandline, str) else None,
        },
        "space_group": space_group,
        "cell": cell_dict(_numbers(data, "unit_cell", 6, path)),
        "wavelength": _number(data.get("wavelength"), path, "wavelength"),
        "refined_beam": _numbers(data, "refined_beam", 2, path),
        "shells": {
            name: _shell(stats.get(key), path, key) for key, name in SHELL_NAMES.items()
        },
    }


def _number(value: Any, path: Path, what: str) -> float | None:
    """A JSON number (or numeric string) as float; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise fail(path, f"{what} must be a number, got {value!r}")
    if isinstance(value, int | float):
        return to_float(repr(float(value)), path, what)
    if isinstance(value, str):
        return to_float(value, path, what)
    raise fail(path, f"{what} must be a number, got {value!r}")


def _numbers(data: dict, key: str, count: int, path: Path) -> list[float | None] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != count:
        raise fail(path, f"'{key}' must be a list of {count} numbers, got {value!r}")
    return [_number(item, path, key) for item in value]


def _shell(block: Any, path: Path, name: str) -> dict[str, Any]:
    shell = empty_shell()
    if block is None:
        return shell
    if not isinstance(block, dict):
        raise fail(path, f"scaling_statistics.{name} must be an object")
    for source, key in SHELL_MAP.items():
        value = _number(block.get(source), path, f"{name}.{source}")
        if key in _INT_KEYS and value is not None:
            if not value.is_integer():
                raise fail(path, f"{name}.{source} is not an integer: {value!r}")
            value = int(value)
        shell[key] = value
    return shell
