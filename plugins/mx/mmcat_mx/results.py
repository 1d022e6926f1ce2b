"""Turn a parsed processing result into the MX parameters of a processed dataset."""

from __future__ import annotations

from typing import Any

#: dictionary key -> key of an overall-shell entry in a parser result
SHELL_PARAMETERS = {
    "resolution_low": "resolution_low",
    "resolution_high": "resolution_high",
    "completeness": "completeness",
    "multiplicity": "multiplicity",
    "i_over_sigma": "mean_i_over_sigma",
    "r_merge": "r_merge",
    "r_meas": "r_meas_all",
    "r_pim": "r_pim_all",
    "cc_half": "cc_half",
    "cc_anomalous": "cc_anomalous",
    "anomalous_completeness": "anomalous_completeness",
    "anomalous_multiplicity": "anomalous_multiplicity",
    "n_observations": "n_observations",
    "n_unique": "n_unique",
}


def compact_space_group(symbol: str | None) -> str | None:
    """``"P 21 21 21"`` -> ``"P212121"``, the form people type into a search box."""
    return symbol.replace(" ", "") if symbol else None


def processing_parameters(result: dict[str, Any]) -> dict[str, Any]:
    """Parameters for the processed dataset from an AutoProc XML or CORRECT.LP parser result."""
    shells = result.get("shells")  # XML: {"overall": …}; CORRECT.LP: a list, plus "overall"
    overall = (shells.get("overall") if isinstance(shells, dict) else result.get("overall")) or {}
    params: dict[str, Any] = {}
    for key, source in SHELL_PARAMETERS.items():
        if overall.get(source) is not None:
            params[key] = overall[source]
    for axis, value in (result.get("cell") or {}).items():
        if value is not None:
            params[f"cell_{axis}"] = value
    space_group = compact_space_group(result.get("space_group"))
    if space_group:
        params["space_group"] = space_group
    program = result.get("program") or {}
    if program.get("name"):
        params["program"] = program["name"]
    if result.get("wavelength"):
        params["wavelength"] = result["wavelength"]
    return params
