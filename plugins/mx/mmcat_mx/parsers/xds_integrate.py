"""Parser for the XDS ``INTEGRATE.LP`` log (also saved by xia2 as ``*_INTEGRATE.log``).

Returns the input parameters printed at the top, the **last** refinement block (each batch of
images prints one: cell, mosaicity, spot/spindle SD, direct beam, distance), the suggested
BEAM_DIVERGENCE / REFLECTING_RANGE, the per-image table summarised (images processed, mean
scale, number of images with an error code) and the number of reflections saved. Older XDS
versions print the same lines; the per-image table is read by its column header, so added or
renamed columns (SIGMAB vs. SIGMAD) do not matter.

Units: lengths in mm, angles in degrees, wavelength in Å, beam position in pixels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float, to_int
from ._shells import cell_dict

try:  # gemmi only turns the space-group number into a symbol
    import gemmi
except ImportError:  # pragma: no cover - depends on the environment
    gemmi = None

FORMAT = "xds_integrate_lp"

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BANNER = re.compile(
    r"\*{5}\s*INTEGRATE\s*\*{5}\s*\(VERSION\s+(?P<version>[^)]*?)\s*"
    r"(?:BUILT=(?P<build>\w+))?\s*\)[ \t]*(?P<date>\S+)?"
)
_SAVED = re.compile(r"^\s*(\d+)\s+REFLECTIONS SAVED ON FILE", re.M)
_BLOCK = re.compile(r"^\s*UNIT CELL PARAMETERS\s", re.M)

#: key -> pattern (group 1...) searched inside the last refinement block.
BLOCK_VALUES = {
    "mosaicity": rf"CRYSTAL MOSAICITY \(DEGREES\)\s+({_NUM})",
    "spot_sd_pixels": rf"STANDARD DEVIATION OF SPOT\s+POSITION \(PIXELS\)\s+({_NUM})",
    "spindle_sd_degrees": rf"STANDARD DEVIATION OF SPINDLE POSITION \(DEGREES\)\s+({_NUM})",
    "distance": rf"CRYSTAL TO DETECTOR DISTANCE \(mm\)\s+({_NUM})",
}


def detect(path: Path) -> bool:
    """True if the first few kilobytes contain the ``***** INTEGRATE *****`` banner."""
    return bool(_BANNER.search(read_head(path)))


def parse(path: Path) -> dict[str, Any]:
    """Parse an INTEGRATE.LP; raise ParseError if it is not one or is truncated."""
    path = Path(path)
    text = read_bytes(path).decode("latin-1")
    banner = _BANNER.search(text)
    if banner is None:
        raise fail(path, "no '***** INTEGRATE *****' banner; not an XDS INTEGRATE.LP file")
    saved = _SAVED.search(text)
    if saved is None:
        raise fail(path, "truncated: no 'REFLECTIONS SAVED ON FILE' line at the end of the run")
    block = _last_block(text, saved.start(), path)
    images = _images(text, path)
    sg_number = _int(text, r"^\s*SPACE_GROUP_NUMBER=\s*(\d+)", path, "SPACE_GROUP_NUMBER")
    template = re.search(r"NAME_TEMPLATE_OF_DATA_FRAMES=\s*(\S+)(?:[ \t]+(\w+))?", text)
    wall = _last(text, rf"total elapsed wall-clock time\s+({_NUM})")
    return {
        "format": FORMAT,
        "program": {
            "name": "XDS",
            "step": "INTEGRATE",
            "version": banner["version"] or None,
            "build": banner["build"],
            "run_date": banner["date"],
        },
        "name_template": template[1] if template else None,
        "image_format": template[2] if template else None,
        "data_range": _pair(text, r"^\s*DATA_RANGE=\s*(\d+)\s+(\d+)", path, to_int),
        "space_group_number": sg_number,
        "space_group": _symbol(sg_number),
        "input_cell": cell_dict(_cell(text, r"UNIT_CELL_CONSTANTS=", path)),
        "oscillation_range": _num(text, rf"OSCILLATION_RANGE=\s*({_NUM})", path),
        "starting_angle": _num(text, rf"STARTING_ANGLE=\s*({_NUM})", path),
        "wavelength": _num(text, rf"X-RAY_WAVELENGTH=\s*({_NUM})", path),
        "input_distance": _num(text, rf"^\s*DETECTOR_DISTANCE=\s*({_NUM})", path),
        "input_origin": _pair(text, rf"ORGX=\s*({_NUM})\s+ORGY=\s*({_NUM})", path, to_float),
        "detector_size": _pair(text, r"\bNX=\s*(\d+)\s+NY=\s*(\d+)", path, to_int),
        "pixel_size": _pair(text, rf"\bQX=\s*({_NUM})\s+QY=\s*({_NUM})", path, to_float),
        "cell": cell_dict(_cell(block, r"UNIT CELL PARAMETERS", path)),
        **{key: _num(block, pattern, path) for key, pattern in BLOCK_VALUES.items()},
        "direct_beam": _pair(
            block, rf"DETECTOR COORDINATES \(PIXELS\) OF DIRECT BEAM\s+({_NUM})\s+({_NUM})",
            path, to_float),
        "detector_origin": _pair(
            block, rf"DETECTOR ORIGIN \(PIXELS\) AT\s+({_NUM})\s+({_NUM})", path, to_float),
        "beam_divergence": _num(text, rf"BEAM_DIVERGENCE=\s*({_NUM})", path, last=True),
        "beam_divergence_esd": _num(
            text, rf"BEAM_DIVERGENCE_E\.S\.D\.=\s*({_NUM})", path, last=True),
        "reflecting_range": _num(text, rf"REFLECTING_RANGE=\s*({_NUM})", path, last=True),
        "reflecting_range_esd": _num(
            text, rf"REFLECTING_RANGE_E\.S\.D\.=\s*({_NUM})", path, last=True),
        "reflections_saved": to_int(saved[1], path, "reflections saved"),
        "wall_clock_seconds": to_float(wall, path, "wall-clock time"),
        "images": images,
    }


def _last(text: str, pattern: str) -> str | None:
    matches = list(re.finditer(pattern, text, re.M))
    return matches[-1][1] if matches else None


def _num(text: str, pattern: str, path: Path, last: bool = False) -> float | None:
    """The number in group 1 of the first (or last) match of ``pattern``."""
    what = re.sub(r"[\\(=].*", "", pattern).strip()
    if last:
        return to_float(_last(text, pattern), path, what)
    match = re.search(pattern, text, re.M)
    return to_float(match[1], path, what) if match else None


def _int(text: str, pattern: str, path: Path, what: str) -> int | None:
    match = re.search(pattern, text, re.M)
    return to_int(match[1], path, what) if match else None


def _pair(text: str, pattern: str, path: Path, conv) -> list | None:
    match = re.search(pattern, text, re.M)
    if match is None:
        return None
    what = re.sub(r"[\\(=].*", "", pattern).strip("^ ")
    return [conv(match[1], path, what), conv(match[2], path, what)]


def _cell(text: str, label: str, path: Path) -> list[float | None] | None:
    match = re.search(rf"{label}\s*" + r"\s+".join([f"({_NUM})"] * 6), text)
    return [to_float(match[i], path, label) for i in range(1, 7)] if match else None


def _symbol(number: int | None) -> str | None:
    if number is None or gemmi is None:
        return None
    space_group = gemmi.find_spacegroup_by_number(number)
    return space_group.hm if space_group is not None else None


def _last_block(text: str, end: int, path: Path) -> str:
    """The text of the last refinement block before ``end`` (from its ``UNIT CELL`` line)."""
    starts = [match.start() for match in _BLOCK.finditer(text, 0, end)]
    if not starts:
        raise fail(path, "no refinement block ('UNIT CELL PARAMETERS') in the log")
    block_start = text.rfind("REFINED PARAMETERS:", 0, starts[-1])
    block_start = block_start if block_start >= 0 else starts[-1]
    block_end = text.find("\n\n", starts[-1])
    return text[block_start: block_end if block_end > 0 else end]


def _images(text: str, path: Path) -> dict[str, Any]:
    """Summary of the per-image tables: count, first/last image, mean scale, images with IER!=0."""
    numbers: list[int] = []
    scales: list[float] = []
    errors = 0
    for header in re.finditer(r"^[ \t]*IMAGE[ \t]+IER[ \t]+SCALE\b[^\n]*\n", text, re.M):
        columns = header[0].split()
        for line in text[header.end():].splitlines():
            tokens = line.split()
            if len(tokens) != len(columns) or not tokens[0].isdigit():
                break
            row = dict(zip(columns, tokens, strict=True))
            numbers.append(to_int(row["IMAGE"], path, "IMAGE"))
            scales.append(to_float(row["SCALE"], path, "SCALE"))
            errors += to_int(row["IER"], path, "IER") != 0
    if not numbers:
        raise fail(path, "no per-image table ('IMAGE IER SCALE …')")
    return {
        "count": len(numbers),
        "first": min(numbers),
        "last": max(numbers),
        "mean_scale": round(sum(scales) / len(scales), 4),
        "with_error": errors,
    }
