"""Parser for the XDS ``CORRECT.LP`` log.

CORRECT prints the statistics table once per cumulative image range; the result is taken from
the **last** ``SUBSET OF INTENSITY DATA WITH SIGNAL/NOISE >= -3.0`` table, which covers the saved
data set. Older XDS versions print ``Rmrgd-F`` where newer ones print ``CC(1/2)``; the column is
recognised by its header. ``-99.9%`` / ``-99.00`` are XDS's "not computable" markers and become
None.

The "shells" and "total" rows keep XDS's percentages as written. The "overall" and "outer"
summaries use the ISPyB vocabulary of the AutoProcContainer parser: R values and CC(1/2) as
fractions, completeness in percent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float, to_int

try:  # gemmi is optional: it only turns the space-group number into a symbol
    import gemmi
except ImportError:  # pragma: no cover - depends on the environment
    gemmi = None

FORMAT = "xds_correct_lp"
TABLE_TITLE = "SUBSET OF INTENSITY DATA WITH SIGNAL/NOISE >= -3.0 AS FUNCTION OF RESOLUTION"
CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SIX = r"\s+".join([f"({_NUM})"] * 6)
_BANNER = re.compile(
    r"\*{5}\s*CORRECT\s*\*{5}\s*\(VERSION\s+(?P<version>[^)]*?)\s*"
    r"(?:BUILT=(?P<build>\w+))?\s*\)[ \t]*(?P<date>\S+)?"
)
_END_OF_RUN = re.compile(r"cpu time used|elapsed wall-clock time")

#: Single values taken from the last line that matches the prefix.
LAST_VALUES = {
    "mosaicity": r"CRYSTAL MOSAICITY \(DEGREES\)\s+",
    "spot_sd_pixels": r"STANDARD DEVIATION OF SPOT\s+POSITION \(PIXELS\)\s+",
    "spindle_sd_degrees": r"STANDARD DEVIATION OF SPINDLE POSITION \(DEGREES\)\s+",
    "wilson_b": r"WILSON LINE \(using all data\)\s*:\s*A=\s*\S+\s+B=\s*",
}

#: (key, kind) for the 14 columns of the statistics table, left to right. "stat" values may carry
#: a % sign and may be XDS's not-computable marker; "cc" is CC(1/2) (or the older Rmrgd-F).
ROW_COLUMNS = (
    ("resolution_high", "float"),
    ("n_observations", "int"),
    ("n_unique", "int"),
    ("n_possible", "int"),
    ("completeness", "stat"),
    ("r_observed", "stat"),
    ("r_expected", "stat"),
    ("n_compared", "int"),
    ("i_over_sigma", "stat"),
    ("r_meas", "stat"),
    ("cc_half", "cc"),
    ("anomalous_correlation", "float"),
    ("sig_ano", "float"),
    ("n_ano", "int"),
)


def detect(path: Path) -> bool:
    """True if the first few kilobytes contain the ``***** CORRECT *****`` banner."""
    return bool(_BANNER.search(read_head(path)))


def parse(path: Path) -> dict[str, Any]:
    """Parse a CORRECT.LP file; raise ParseError if it is not one or is incomplete."""
    path = Path(path)
    text = read_bytes(path).decode("latin-1")
    program = _program(text, path)
    shells, total, table_end = _last_table(text, path)
    if not _END_OF_RUN.search(text, table_end):
        raise fail(path, "truncated: no end-of-run timing after the last statistics table")
    tail = text[table_end:]
    sg_number = _space_group_number(text, path)
    low = _resolution_low(text, path)
    return {
        "format": FORMAT,
        "program": program,
        "space_group_number": sg_number,
        "space_group": _space_group_symbol(sg_number),
        "cell": _cell(text, path),
        "cell_esd": _six(text, r"E\.S\.D\. OF CELL PARAMETERS\s+", path, "cell E.S.D."),
        **{key: _last_float(text, prefix, path, key) for key, prefix in LAST_VALUES.items()},
        "isa": _isa(text, path),
        "wavelength": _first_float(text, r"X-RAY_WAVELENGTH=\s*", path, "X-RAY_WAVELENGTH"),
        "data_range": _data_range(text, path),
        "name_template": _first_group(text, r"NAME_TEMPLATE_OF_DATA_FRAMES=\s*(\S+)"),
        "accepted_observations": _count(tail, "NUMBER OF ACCEPTED OBSERVATIONS", path),
        "unique_accepted_reflections": _count(tail, "NUMBER OF UNIQUE ACCEPTED REFLECTIONS", path),
        "shells": shells,
        "total": total,
        "overall": _summary(total, low, shells[-1]["resolution_high"]),
        "outer": _summary(
            shells[-1],
            shells[-2]["resolution_high"] if len(shells) > 1 else low,
            shells[-1]["resolution_high"],
        ),
    }


# --- header and single values ---------------------------------------------------------------


def _program(text: str, path: Path) -> dict[str, str | None]:
    """XDS version, build and run date from the ``***** CORRECT *****`` banner."""
    match = _BANNER.search(text)
    if match is None:
        raise fail(path, "no '***** CORRECT *****' banner; not an XDS CORRECT.LP file")
    return {
        "name": "XDS",
        "version": match["version"] or None,
        "build": match["build"],
        "run_date": match["date"],
    }


def _last_match(text: str, pattern: str) -> re.Match[str] | None:
    """The last match of ``pattern`` (multiline) in ``text``."""
    matches = list(re.finditer(pattern, text, re.M))
    return matches[-1] if matches else None


def _first_group(text: str, pattern: str) -> str | None:
    """Group 1 of the first match of ``pattern``, or None."""
    match = re.search(pattern, text, re.M)
    return match[1] if match else None


def _first_float(text: str, prefix: str, path: Path, what: str) -> float | None:
    """The number right after the first match of ``prefix``."""
    return to_float(_first_group(text, prefix + f"({_NUM})"), path, what)


def _last_float(text: str, prefix: str, path: Path, what: str) -> float | None:
    """The number right after the last match of ``prefix``."""
    match = _last_match(text, prefix + f"({_NUM})")
    return to_float(match[1], path, what) if match else None


def _six(text: str, prefix: str, path: Path, what: str) -> dict[str, float | None] | None:
    """Six numbers (a cell or its E.S.D.) after the last match of ``prefix``, or None."""
    match = _last_match(text, prefix + _SIX)
    if match is None:
        return None
    return {key: to_float(match[i + 1], path, what) for i, key in enumerate(CELL_KEYS)}


def _cell(text: str, path: Path) -> dict[str, float | None] | None:
    """Refined cell; falls back to UNIT_CELL_CONSTANTS= when CORRECT did not refine."""
    return _six(text, r"^\s*UNIT CELL PARAMETERS\s+", path, "unit cell") or _six(
        text, r"UNIT_CELL_CONSTANTS=\s*", path, "unit cell"
    )


def _space_group_number(text: str, path: Path) -> int | None:
    """Refined space-group number; falls back to the last SPACE_GROUP_NUMBER= line."""
    match = _last_match(text, r"^\s*SPACE GROUP NUMBER\s+(\d+)") or _last_match(
        text, r"SPACE_GROUP_NUMBER=\s*(\d+)"
    )
    return to_int(match[1], path, "space group number") if match else None


def _space_group_symbol(number: int | None) -> str | None:
    """Hermann-Mauguin symbol for ``number`` (gemmi), or None without gemmi."""
    if number is None or gemmi is None:
        return None
    space_group = gemmi.find_spacegroup_by_number(number)
    return space_group.hm if space_group is not None else None


def _isa(text: str, path: Path) -> dict[str, float | None] | None:
    """The error-model line under ``a  b  ISa``."""
    match = _last_match(text, rf"^\s*a\s+b\s+ISa\s*\n\s*({_NUM})\s+({_NUM})\s+({_NUM})")
    if match is None:
        return None
    return {key: to_float(match[i + 1], path, "ISa") for i, key in enumerate(("a", "b", "isa"))}


def _data_range(text: str, path: Path) -> list[int | None] | None:
    """DATA_RANGE= of the input parameters as [first, last] image."""
    match = re.search(r"^\s*DATA_RANGE=\s*(\d+)\s+(\d+)", text, re.M)
    if match is None:
        return None
    return [to_int(match[1], path, "DATA_RANGE"), to_int(match[2], path, "DATA_RANGE")]


def _count(text: str, label: str, path: Path) -> int | None:
    """An integer count written as ``LABEL   12345`` on a line of its own."""
    match = re.search(rf"^\s*{re.escape(label)}\s+(\d+)\s*$", text, re.M)
    return to_int(match[1], path, label.lower()) if match else None


def _resolution_low(text: str, path: Path) -> float | None:
    """Low-resolution limit from the footer of the last ``RESOLUTION RANGE  I/Sigma`` table."""
    start = _last_match(text, r"^\s*RESOLUTION RANGE\s+I/Sigma")
    if start is None:
        return None
    footer = re.compile(rf"^\s*-{{10,}}\s*\n\s*({_NUM})\s+{_NUM}", re.M).search(text, start.end())
    return to_float(footer[1], path, "low resolution limit") if footer else None


# --- the statistics table -------------------------------------------------------------------


def _last_table(text: str, path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Rows and ``total`` line of the last statistics table, and where the table ends."""
    start = text.rfind(TABLE_TITLE)
    if start < 0:
        raise fail(path, f"no '{TABLE_TITLE}' table")
    lines = text[start:].splitlines(keepends=True)
    if len(lines) < 2:
        raise fail(path, "truncated statistics table (no column header)")
    has_cc_half = _cc_column(lines[1], path)
    rows: list[dict[str, Any]] = []
    offset = start + len(lines[0]) + len(lines[1])
    for line in lines[2:]:
        offset += len(line)
        tokens = line.split()
        if tokens and tokens[0] == "total":
            if not rows:
                raise fail(path, "statistics table has a total line but no resolution shells")
            return rows, _row(tokens, has_cc_half, path), offset
        if tokens and re.fullmatch(_NUM, tokens[0]):
            rows.append(_row(tokens, has_cc_half, path))
        elif tokens and rows:
            raise fail(path, f"unexpected line in statistics table: {line.strip()!r}")
    raise fail(path, "truncated: the last statistics table has no 'total' line")


def _cc_column(header: str, path: Path) -> bool:
    """True for a ``CC(1/2)`` column, False for the older ``Rmrgd-F``; ParseError otherwise."""
    if "CC(1/2)" in header:
        return True
    if "Rmrgd-F" in header:
        return False
    raise fail(path, f"unknown statistics-table layout: {header.strip()!r}")


def _row(tokens: list[str], has_cc_half: bool, path: Path) -> dict[str, Any]:
    """One table line (a shell or ``total``) as a dict; percentages kept as written."""
    if len(tokens) != len(ROW_COLUMNS):
        raise fail(path, f"statistics row has {len(tokens)} columns, expected 14: {tokens}")
    row: dict[str, Any] = {}
    for (key, kind), token in zip(ROW_COLUMNS, tokens, strict=True):
        if token == "total":
            row[key] = None
            continue
        value = token.rstrip("%*")
        if kind == "int":
            row[key] = to_int(value, path, key)
        elif kind == "cc":
            row["cc_half"] = _not_computed(to_float(value, path, key)) if has_cc_half else None
            row["cc_half_significant"] = token.endswith("*") if has_cc_half else None
        elif kind == "stat":
            row[key] = _not_computed(to_float(value, path, key))
        else:
            row[key] = to_float(value, path, key)
    return row


def _not_computed(value: float | None) -> float | None:
    """XDS writes -99.9 (%) or -99.00 when a statistic cannot be computed."""
    return None if value is not None and value <= -99.0 else value


def _fraction(percent: float | None) -> float | None:
    """4.8 (%) -> 0.048."""
    return None if percent is None else round(percent / 100.0, 6)


def _summary(row: dict[str, Any], low: float | None, high: float | None) -> dict[str, Any]:
    """A shell in the ISPyB vocabulary of the AutoProcContainer parser."""
    observed, unique = row["n_observations"], row["n_unique"]
    return {
        "resolution_low": low,
        "resolution_high": high,
        "r_merge": _fraction(row["r_observed"]),
        "r_meas_all": _fraction(row["r_meas"]),
        "n_observations": observed,
        "n_unique": unique,
        "mean_i_over_sigma": row["i_over_sigma"],
        "completeness": row["completeness"],
        "multiplicity": observed / unique if unique else None,
        "cc_half": _fraction(row["cc_half"]),
    }
