"""Parsers for xia2's ``xia2.txt`` and ``xia2-summary.dat``.

Both carry one 3-column statistics table (Overall / Low / High resolution shell) per dataset,
introduced by ``For project/crystal/dataset`` (with or without a trailing colon). Row labels
changed over xia2 versions: 2014 writes ``Rmerge``; later versions write ``Rmerge(I)``,
``Rmerge(I+/-)`` and ``CC half``. Labels are matched after collapsing whitespace; rows this
parser does not know are kept under ``extra``.

Mapping to the ISPyB vocabulary (as xia2's own ``ispyb.xml`` does): ``r_merge`` is
``Rmerge(I+/-)`` (2014: ``Rmerge``), ``r_meas_all``/``r_pim_all`` are ``Rmeas(I)``/``Rpim(I)``,
``r_meas_within``/``r_pim_within`` are the ``(I+/-)`` rows, ``cc_anomalous`` is ``Anomalous
correlation``. The top-level ``shells`` are those of the first dataset.

``detect``/``parse`` read xia2.txt; ``detect_summary``/``parse_summary`` read xia2-summary.dat.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float, to_int
from ._shells import SHELL_NAMES, cell_dict, shells_from_columns

FORMAT = "xia2_txt"
FORMAT_SUMMARY = "xia2_summary_dat"

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TABLE_HEAD = re.compile(r"^For (?P<name>[^\s/]+/[^\s/]+/[^\s/:]+):?\s*$", re.M)
_COLUMN_HEAD = re.compile(r"\s*(?:(?:Overall|Low|High|Inner\w*|Outer\w*)\s*)+")
_SNIFF_TXT = re.compile(r"^(?:XIA2\s+\d|XIA2_ROOT\s*=>|Command line:\s*xia2\b)", re.M | re.I)
_SNIFF_SUMMARY = re.compile(r"\A\s*Project:\s*\S+\s*\n\s*Crystal:\s*\S+", re.M)

#: Table row label (whitespace collapsed) -> result key.
ROWS = {
    "High resolution limit": "resolution_high",
    "Low resolution limit": "resolution_low",
    "Completeness": "completeness",
    "Multiplicity": "multiplicity",
    "I/sigma": "mean_i_over_sigma",
    "Rmerge": "r_merge",
    "Rmerge(I+/-)": "r_merge",
    "Rmerge(I)": "r_merge_all",
    "Rmeas(I)": "r_meas_all",
    "Rmeas(I+/-)": "r_meas_within",
    "Rpim(I)": "r_pim_all",
    "Rpim(I+/-)": "r_pim_within",
    "CC half": "cc_half",
    "Wilson B factor": "wilson_b",
    "Partial bias": "partial_bias",
    "Anomalous completeness": "anomalous_completeness",
    "Anomalous multiplicity": "anomalous_multiplicity",
    "Anomalous correlation": "cc_anomalous",
    "Anomalous slope": "anomalous_slope",
    "dF/F": "df_over_f",
    "dI/s(dI)": "di_over_sig_di",
    "Total observations": "n_observations",
    "Total unique": "n_unique",
}
#: Rows that carry one value for the whole dataset (xia2 pads some with 0.000).
SINGLE = ("wilson_b", "anomalous_slope", "df_over_f", "di_over_sig_di", "partial_bias")
REQUIRED = ("resolution_high", "resolution_low", "completeness", "multiplicity")


def detect(path: Path) -> bool:
    """True for a xia2.txt: a ``XIA2 <version>``, ``XIA2_ROOT =>`` or ``Command line: xia2``
    line in the first few kilobytes."""
    return bool(_SNIFF_TXT.search(read_head(path)))


def detect_summary(path: Path) -> bool:
    """True for a xia2-summary.dat: starts ``Project:`` / ``Crystal:`` and has a ``For`` table."""
    head = read_head(path)
    return bool(_SNIFF_SUMMARY.match(head)) and bool(_TABLE_HEAD.search(head))


def parse(path: Path) -> dict[str, Any]:
    """Parse a xia2.txt; raise ParseError if it is not one or is incomplete."""
    path = Path(path)
    text = _text(path)
    if not _SNIFF_TXT.search(text):
        raise fail(path, "no 'XIA2 <version>' or 'Command line: xia2' line; not a xia2.txt")
    datasets = _datasets(text, path)
    status = _group(text, r"^Status:\s*(.+?)\s*$")
    if status is None:
        raise fail(path, "truncated: no final 'Status:' line")
    first = datasets[0]
    cell = _unit_cell(text, path)
    return {
        "format": FORMAT,
        "program": {
            "name": "xia2",
            "version": _group(text, r"^XIA2\s+(\d\S*)"),
            "build": _group(text, r"^Build:\s*(\S+)"),
            "command_line": _group(text, r"^Command line:\s*(.+?)\s*$"),
            "status": status,
            "processing_time": _group(text, r"^Processing took\s+(.+?)\s*$"),
        },
        "space_group": _group(text, r"^Assuming spacegroup:\s*(.+?)\s*$")
        or _last_group(text, r"^Spacegroup:\s*(.+?)\s*$"),
        "cell": cell_dict(cell),
        "wavelength": _float(text, rf"^Wavelength\s+({_NUM})\s*$", path, "wavelength"),
        "wavelength_name": _group(text, r"^Wavelength name:\s*(\S+)"),
        "indexing_solution": _indexing(text, path),
        "template": _group(text, r"^TEMPLATE\s+(\S+)"),
        "directory": _group(text, r"^DIRECTORY\s+(.+?)\s*$"),
        "detector": _group(text, r"^DETECTOR\s+(.+?)\s*$"),
        "exposure_time": _float(text, rf"^EXPOSURE TIME\s+({_NUM})", path, "EXPOSURE TIME"),
        "oscillation_range": _float(text, rf"^PHI WIDTH\s+({_NUM})", path, "PHI WIDTH"),
        "image_range": _images(text, r"^IMAGES(?: \(USER\))?\s+(\d+)\s+to\s+(\d+)", path),
        "twinning_score": _float(
            text, rf"^Overall twinning score:\s*({_NUM})", path, "twinning score"),
        "shells": first["shells"],
        **{key: first[key] for key in SINGLE},
        "datasets": datasets,
    }


def parse_summary(path: Path) -> dict[str, Any]:
    """Parse a xia2-summary.dat; raise ParseError if it is not one or is incomplete."""
    path = Path(path)
    text = _text(path)
    if not _SNIFF_SUMMARY.match(text):
        raise fail(path, "does not start with 'Project:' / 'Crystal:'; not a xia2-summary.dat")
    datasets = _datasets(text, path)
    space_group = _last_group(text, r"^Spacegroup:\s*(.+?)\s*$")
    cell_line = _last_group(text, r"^Cell:\s*(.+?)\s*$")
    if space_group is None or cell_line is None:
        raise fail(path, "truncated: no final 'Cell:' and 'Spacegroup:' lines")
    wavelength = re.search(rf"^Wavelength:\s*(\S+)\s*\(({_NUM})\)", text, re.M)
    beam = re.search(
        rf"^Beam\s+({_NUM})\s+({_NUM})\s*=>\s*({_NUM})\s+({_NUM})", text, re.M)
    distance = re.search(rf"^Distance\s+({_NUM})\s*=>\s*({_NUM})", text, re.M)
    first = datasets[0]
    return {
        "format": FORMAT_SUMMARY,
        "program": {"name": "xia2", "version": None},
        "project": _group(text, r"^Project:\s*(\S+)"),
        "crystal": _group(text, r"^Crystal:\s*(\S+)"),
        "sweep": _group(text, r"^Sweep:\s*(\S+)"),
        "space_group": space_group,
        "cell": cell_dict(_six(cell_line, path)),
        "wavelength": to_float(wavelength[2], path, "wavelength") if wavelength else None,
        "wavelength_name": wavelength[1] if wavelength else None,
        "files": _group(text, r"^Files\s+(\S+)"),
        "image_range": _images(text, r"^Images:\s*(\d+)\s+to\s+(\d+)", path),
        "beam_start": _pair(beam, 1, path, "beam"),
        "beam_refined": _pair(beam, 3, path, "beam"),
        "distance_start": to_float(distance[1], path, "distance") if distance else None,
        "distance_refined": to_float(distance[2], path, "distance") if distance else None,
        "date": _group(text, r"^Date:\s*(.+?)\s*$"),
        "shells": first["shells"],
        **{key: first[key] for key in SINGLE},
        "datasets": datasets,
    }


# --- helpers --------------------------------------------------------------------------------


def _text(path: Path) -> str:
    return read_bytes(path).decode("utf-8", errors="replace")


def _group(text: str, pattern: str) -> str | None:
    match = re.search(pattern, text, re.M)
    return match[1] if match else None


def _last_group(text: str, pattern: str) -> str | None:
    matches = list(re.finditer(pattern, text, re.M))
    return matches[-1][1] if matches else None


def _float(text: str, pattern: str, path: Path, what: str) -> float | None:
    return to_float(_group(text, pattern), path, what)


def _six(line: str, path: Path) -> list[float | None]:
    """Six cell numbers; esds such as ``83.09(1)`` are dropped."""
    numbers = re.sub(r"\(\d+\)", "", line).split()
    if len(numbers) != 6:
        raise fail(path, f"expected six cell parameters, got {line.strip()!r}")
    return [to_float(number, path, "unit cell") for number in numbers]


def _unit_cell(text: str, path: Path) -> list[float | None] | None:
    """The two lines after ``Unit cell:`` (or ``Unit cell (with estimated std devs):``)."""
    match = re.search(r"^Unit cell[^\n]*:\s*\n([^\n]+)\n([^\n]+)", text, re.M)
    return _six(f"{match[1]} {match[2]}", path) if match else None


def _indexing(text: str, path: Path) -> dict[str, Any] | None:
    """The lattice and cell on the line after the last ``Indexing solution:``."""
    lattice = _last_group(text, r"^Indexing solution:\s*\n(\S+\s+.+?)\s*$")
    if lattice is None:
        return None
    name, _, rest = lattice.partition(" ")
    return {"lattice": name, "cell": cell_dict(_six(rest, path))}


def _images(text: str, pattern: str, path: Path) -> list[int | None] | None:
    match = re.search(pattern, text, re.M)
    if match is None:
        return None
    return [to_int(match[1], path, "image range"), to_int(match[2], path, "image range")]


def _pair(match: re.Match[str] | None, start: int, path: Path, what: str):
    if match is None:
        return None
    return [to_float(match[start], path, what), to_float(match[start + 1], path, what)]


def _datasets(text: str, path: Path) -> list[dict[str, Any]]:
    """Every ``For project/crystal/dataset`` table; ParseError if none or one is cut short."""
    heads = list(_TABLE_HEAD.finditer(text))
    if not heads:
        raise fail(path, "no 'For project/crystal/dataset' statistics table")
    return [_table(text, head, path) for head in heads]


def _table(text: str, head: re.Match[str], path: Path) -> dict[str, Any]:
    """Rows after ``head`` until the first line that is not a statistics row."""
    rows: dict[str, list[float | None]] = {}
    extra: dict[str, list[float | None]] = {}
    for line in text[head.end():].lstrip("\n").splitlines():
        if not rows and not extra and _COLUMN_HEAD.fullmatch(line):
            continue  # later versions print "Overall Low High" above the rows
        parts = [part.strip() for part in re.split(r"\t| {2,}", line.strip()) if part.strip()]
        if (len(parts) < 2 or parts[0].endswith(":")
                or not all(re.fullmatch(_NUM, part) for part in parts[1:])):
            break
        label = " ".join(parts[0].split())
        values = [to_float(part, path, label) for part in parts[1:4]]
        key = ROWS.get(label)
        if key is None:
            extra[label] = values
        else:
            rows[key] = values
    missing = [key for key in REQUIRED if key not in rows]
    if missing:
        raise fail(path, f"statistics table for {head['name']} lacks {', '.join(missing)}")
    project, crystal, dataset = head["name"].split("/")
    return {
        "project": project,
        "crystal": crystal,
        "dataset": dataset,
        "shells": shells_from_columns(rows, path),
        "r_merge_all": dict(zip(SHELL_NAMES, rows["r_merge_all"], strict=False))
        if "r_merge_all" in rows else None,
        **{key: (rows[key][0] if key in rows else None) for key in SINGLE},
        "extra": extra,
    }
