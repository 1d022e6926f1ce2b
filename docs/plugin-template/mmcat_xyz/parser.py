"""Parser for XYZ-SCAN files, a made-up text format (see ``tests/data/scan.xyz``)::

    XYZ-SCAN 1
    # comments start with '#'
    energy = 12.4 keV
    mode = fluorescence
    data
    0.00  102
    0.25  140

A header line, ``key = value`` lines, a ``data`` line, then one ``position counts`` pair per
line. Pure Python with no Django import, so it runs in a worker, a script or ``mmcat parse``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mmcat.plugins.types import ParseError

FORMAT = "xyz_scan"
HEADER = "XYZ-SCAN 1"
MODES = ("fluorescence", "transmission")
REQUIRED = ("energy", "mode")


def detect(path: Path) -> bool:
    """Cheap sniff: the first line is the XYZ-SCAN header."""
    try:
        with open(path, "rb") as handle:
            return handle.readline(64).decode("utf-8", errors="replace").strip() == HEADER
    except OSError:
        return False


def parse(path: Path) -> dict[str, Any]:
    """Parse one XYZ-SCAN file into a JSON-serialisable dict, or raise :class:`ParseError`."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({exc})") from exc
    if not lines or lines[0].strip() != HEADER:
        raise _fail(path, f"not an XYZ-SCAN file (the first line must be '{HEADER}')")

    header: dict[str, str] = {}
    positions: list[float] = []
    counts: list[float] = []
    in_data = False
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not in_data:
            if line == "data":
                in_data = True
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise _fail(path, f"line {number}: expected 'key = value' or 'data'")
            header[key.strip()] = value.strip()
            continue
        fields = line.split()
        if len(fields) != 2:
            raise _fail(path, f"line {number}: expected 'position counts'")
        positions.append(_number(fields[0], path, number))
        counts.append(_number(fields[1], path, number))

    missing = [key for key in REQUIRED if key not in header]
    if missing:
        raise _fail(path, f"missing header key(s): {', '.join(missing)}")
    if not counts:
        raise _fail(path, "no data points after the 'data' line")
    energy, energy_unit = _quantity(header["energy"], "keV", path)
    mode = header["mode"]
    if mode not in MODES:
        raise _fail(path, f"mode {mode!r} is not one of {', '.join(MODES)}")
    peak = max(range(len(counts)), key=counts.__getitem__)
    return {
        "format": FORMAT,
        "energy": energy,
        "energy_unit": energy_unit,
        "mode": mode,
        "points": len(counts),
        "positions": positions,
        "counts": counts,
        "peak_position": positions[peak],
        "peak_counts": counts[peak],
        "total_counts": sum(counts),
    }


def _fail(path: Path, problem: str) -> ParseError:
    """A ParseError whose message names the file and the problem."""
    return ParseError(f"{Path(path).name}: {problem}")


def _number(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, f"line {line}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _fail(path, f"line {line}: {text!r} is not a finite number")
    return value


def _quantity(text: str, default_unit: str, path: Path) -> tuple[float, str]:
    """``"12.4 keV"`` -> ``(12.4, "keV")``; a bare number takes ``default_unit``."""
    value, _, unit = text.partition(" ")
    try:
        number = float(value)
    except ValueError:
        raise _fail(path, f"energy {text!r} is not a number with an optional unit") from None
    return number, unit.strip() or default_unit
