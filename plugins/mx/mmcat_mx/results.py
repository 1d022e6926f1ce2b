"""Turn a processing result (a parser's output or a pipeline's JSON) into MX values: the
statistics of a resolution shell in the vocabulary of :class:`~mmcat_mx.models.ShellStatistics`,
and the typed parameters of the processed dataset."""

from __future__ import annotations

from typing import Any

#: The columns of ShellStatistics, which are also the data dictionary's keys for the overall
#: shell. R values and CC are fractions (0.048, 0.999); completeness is in percent.
SHELL_FIELDS = (
    "resolution_low", "resolution_high", "n_observations", "n_unique", "r_merge", "r_meas",
    "r_pim", "i_over_sigma", "cc_half", "cc_anomalous", "completeness", "multiplicity",
    "anomalous_completeness", "anomalous_multiplicity",
)

#: The parsers' vocabulary (ISPyB AutoProcScalingStatistics) -> ShellStatistics column.
SHELL_ALIASES = {
    "mean_i_over_sigma": "i_over_sigma",
    "r_meas_all": "r_meas",
    "r_pim_all": "r_pim",
}

#: Parser keys that have no ShellStatistics column; they are accepted and left out.
SHELL_IGNORED = frozenset({"r_meas_within", "r_pim_within", "dano_over_sigdano"})

SHELL_NAMES = ("overall", "inner", "outer")

#: dictionary key -> key of an overall-shell entry in a parser result (kept for callers that
#: read parser output directly; :func:`normalise_shell` understands both vocabularies).
SHELL_PARAMETERS = {
    **{field: field for field in SHELL_FIELDS},
    "i_over_sigma": "mean_i_over_sigma",
    "r_meas": "r_meas_all",
    "r_pim": "r_pim_all",
}


def compact_space_group(symbol: str | None) -> str | None:
    """``"P 21 21 21"`` -> ``"P212121"``, the form people type into a search box."""
    return symbol.replace(" ", "") if symbol else None


def normalise_shell(shell: dict[str, Any] | None) -> dict[str, Any]:
    """One shell in ShellStatistics' vocabulary: parser aliases renamed, other keys dropped,
    None values left out. A ShellStatistics key wins over its alias when both are given."""
    if not isinstance(shell, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in shell.items():
        if value is None:
            continue
        if key in SHELL_FIELDS:
            out[key] = value
        elif key in SHELL_ALIASES and shell.get(SHELL_ALIASES[key]) is None:
            out[SHELL_ALIASES[key]] = value
    return out


def result_shells(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"overall"|"inner"|"outer": {field: value}}`` from a parser result or pipeline JSON.

    AutoProcContainer XML and the newer parsers give ``"shells": {"overall": …}``; CORRECT.LP
    gives ``"shells"`` as its table (a list) and the summaries ``"overall"`` / ``"outer"``.
    Shells without any value are left out.
    """
    shells = result.get("shells")
    source = shells if isinstance(shells, dict) else result
    out = {}
    for name in SHELL_NAMES:
        values = normalise_shell(source.get(name))
        if values:
            out[name] = values
    return out


def program_name(result: dict[str, Any]) -> str | None:
    """The program's name from ``"program": {"name": …}`` or ``"program": "name"``."""
    program = result.get("program")
    if isinstance(program, dict):
        return program.get("name") or None
    return program or None


def processing_parameters(result: dict[str, Any]) -> dict[str, Any]:
    """Parameters of the processed dataset from a processing result: a parser's output
    (AutoProc XML, CORRECT.LP, aimless, xia2, fast_dp) or the JSON of ``POST /api/v1/mx/
    processing/`` (either shell vocabulary; ``cell`` as ``{"a": …}``)."""
    overall = result_shells(result).get("overall", {})
    params: dict[str, Any] = {key: overall[key] for key in SHELL_FIELDS if key in overall}
    cell = result.get("cell")
    if isinstance(cell, dict):
        for axis, value in cell.items():
            if value is not None:
                params[f"cell_{axis}"] = value
    space_group = compact_space_group(result.get("space_group"))
    if space_group:
        params["space_group"] = space_group
    program = program_name(result)
    if program:
        params["program"] = program
    if result.get("wavelength"):
        params["wavelength"] = result["wavelength"]
    return params
