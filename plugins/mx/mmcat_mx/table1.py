"""A paper's Table 1 (data collection and processing) for several datasets side by side.

:func:`table1_rows` gives the rows as ``(label, [value per dataset])``; every statistic is
written "overall (outer shell)". :func:`table1_csv` and :func:`table1_latex` render them. Values
come from :func:`mmcat_mx.mmcif.summary` (processing run, shell statistics, typed parameters and
the raw collections' acquisition parameters).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .mmcif import summary

SECTION = "Data collection"
NOTE = "Values in parentheses are for the highest-resolution shell."


def _fmt(value, digits: int) -> str | None:
    if value is None:
        return None
    return f"{value:.{digits}f}"


def _pair(shells: dict[str, dict[str, Any]], field: str, digits: int) -> str:
    overall = _fmt(shells.get("overall", {}).get(field), digits)
    outer = _fmt(shells.get("outer", {}).get(field), digits)
    if overall is None:
        return ""
    return f"{overall} ({outer})" if outer is not None else overall


def _range(shell: dict[str, Any]) -> str | None:
    low, high = shell.get("resolution_low"), shell.get("resolution_high")
    if low is None or high is None:
        return None
    return f"{low:.2f}–{high:.2f}"


def _column(info: dict[str, Any]) -> dict[str, str]:
    shells, cell = info["shells"], info["cell"] or {}
    overall_range, outer_range = _range(shells.get("overall", {})), _range(
        shells.get("outer", {}))
    sg = info["space_group"]
    return {
        "Beamline": " ".join(filter(None, (info["facility"], info["beamline"]))),
        "Wavelength (Å)": ", ".join(f"{w:.4f}" for w in info["wavelengths"]),
        "Space group": sg.hm if sg else "",
        "a, b, c (Å)": ", ".join(f"{cell[a]:.2f}" for a in "abc") if cell else "",
        "α, β, γ (°)": ", ".join(f"{cell[a]:.1f}" for a in ("alpha", "beta", "gamma"))
        if cell else "",
        "Resolution range (Å)": (f"{overall_range} ({outer_range})" if outer_range
                                 else overall_range or ""),
        "Total reflections": _pair(shells, "n_observations", 0),
        "Unique reflections": _pair(shells, "n_unique", 0),
        "Multiplicity": _pair(shells, "multiplicity", 1),
        "Completeness (%)": _pair(shells, "completeness", 1),
        "Mean I/σ(I)": _pair(shells, "i_over_sigma", 1),
        "Rmerge": _pair(shells, "r_merge", 3),
        "Rmeas": _pair(shells, "r_meas", 3),
        "Rpim": _pair(shells, "r_pim", 3),
        "CC½": _pair(shells, "cc_half", 3),
    }


def table1_rows(datasets: Sequence) -> list[tuple[str, list[str]]]:
    """``[(label, [value for each dataset])]``: first ``("Dataset", names)``, then the section
    heading ``("Data collection", ["", …])`` and one row per quantity."""
    infos = [summary(d) for d in datasets]
    columns = [_column(info) for info in infos]
    rows = [("Dataset", [info["name"] for info in infos]), (SECTION, [""] * len(infos))]
    labels = list(columns[0]) if columns else list(_column(_EMPTY))
    rows += [(label, [column[label] for column in columns]) for label in labels]
    return rows


_EMPTY = {"shells": {}, "cell": None, "space_group": None, "facility": None, "beamline": None,
          "wavelengths": []}


def table1_csv(datasets: Sequence) -> str:
    """Table 1 as CSV: a header row of dataset names, one row per quantity, then the note."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = table1_rows(datasets)
    writer.writerow(["", *rows[0][1]])
    for label, values in rows[1:]:
        writer.writerow([label, *values])
    writer.writerow([NOTE])
    return out.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "Å": r"\AA{}", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "σ": r"$\sigma$",
    "°": r"$^\circ$", "½": r"$_{1/2}$", "–": "--", "\u00a0": "~",
}
_LATEX_LABELS = {"Rmerge": r"$R_\mathrm{merge}$", "Rmeas": r"$R_\mathrm{meas}$",
                 "Rpim": r"$R_\mathrm{p.i.m.}$", "CC½": r"CC$_{1/2}$"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters and spell the usual Unicode symbols in LaTeX."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in str(text))


def table1_latex(datasets: Sequence) -> str:
    """Table 1 as a LaTeX ``tabular`` (no float around it), every value escaped."""
    rows = table1_rows(datasets)
    n = len(rows[0][1])
    lines = [r"\begin{tabular}{l" + "c" * n + "}", r"\hline",
             " & ".join(["", *(latex_escape(v) for v in rows[0][1])]) + r" \\", r"\hline"]
    for label, values in rows[1:]:
        if label == SECTION:
            lines.append(r"\textbf{" + latex_escape(label) + "}" + " &" * n + r" \\")
            continue
        text = _LATEX_LABELS.get(label) or latex_escape(label)
        lines.append(" & ".join([text, *(latex_escape(v) for v in values)]) + r" \\")
    lines += [r"\hline",
              r"\multicolumn{" + str(n + 1) + r"}{l}{\footnotesize " + latex_escape(NOTE)
              + "}", r"\end{tabular}", ""]
    return "\n".join(lines)
