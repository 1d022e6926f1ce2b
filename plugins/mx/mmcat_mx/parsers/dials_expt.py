"""Parser for DIALS experiment lists (``*.expt``, older ``experiments.json``).

An ExperimentList is JSON with the models in lists (``beam``, ``detector``, ``goniometer``,
``scan``, ``crystal``, ``imageset``) and experiments that point into them by index. The
goniometer and scan are absent for stills. The unit cell is computed from the crystal's
real-space vectors (Å); the space group comes from ``space_group_hall_symbol`` (gemmi).
Models stored in separate files (a string instead of an index) are reported, not followed.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head
from ._shells import cell_dict

try:
    import gemmi
except ImportError:  # pragma: no cover - depends on the environment
    gemmi = None

FORMAT = "dials_experiment_list"
_SNIFF = re.compile(r'"__id__"\s*:\s*"ExperimentList"')
MODELS = ("beam", "detector", "goniometer", "scan", "crystal", "imageset")


def detect(path: Path) -> bool:
    """True for JSON whose first kilobytes contain ``"__id__": "ExperimentList"``."""
    head = read_head(path)
    return head.lstrip().startswith("{") and bool(_SNIFF.search(head))


def parse(path: Path) -> dict[str, Any]:
    """Parse a DIALS experiment list; raise ParseError if it is not one or is malformed."""
    path = Path(path)
    try:
        data = json.loads(read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(path, f"malformed or truncated JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("__id__") != "ExperimentList":
        raise fail(path, "not a DIALS ExperimentList (no '__id__': 'ExperimentList')")
    experiments = data.get("experiment")
    if not isinstance(experiments, list) or not experiments:
        raise fail(path, "the experiment list has no experiments")
    for key in MODELS:
        if not isinstance(data.get(key, []), list):
            raise fail(path, f"'{key}' must be a list")
    try:
        beams = [_beam(item) for item in data.get("beam", [])]
        detectors = [_detector(item) for item in data.get("detector", [])]
        crystals = [_crystal(item, path) for item in data.get("crystal", [])]
        scans = [_scan(item) for item in data.get("scan", [])]
        imagesets = [_imageset(item) for item in data.get("imageset", [])]
        links = [_experiment(item, data) for item in experiments]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise fail(path, f"unexpected experiment-list content ({type(exc).__name__}: {exc})") \
            from None
    goniometers = data.get("goniometer", [])
    first_crystal = crystals[0] if crystals else None
    return {
        "format": FORMAT,
        "program": {"name": "DIALS", "version": None},
        "n_experiments": len(experiments),
        "is_still": not goniometers and not scans,
        "experiments": links,
        "wavelength": beams[0]["wavelength"] if beams else None,
        "beams": beams,
        "detectors": detectors,
        "n_goniometers": len(goniometers),
        "scans": scans,
        "crystals": crystals,
        "space_group": first_crystal["space_group"] if first_crystal else None,
        "cell": first_crystal["cell"] if first_crystal else cell_dict(None),
        "imagesets": imagesets,
    }


def _experiment(item: dict, data: dict) -> dict[str, Any]:
    """Which model of each kind an experiment uses (index, or file name if external)."""
    link = {}
    for key in MODELS:
        value = item.get(key)
        if (isinstance(value, int) and not isinstance(value, bool)
                and not 0 <= value < len(data.get(key, []))):
            raise IndexError(f"experiment refers to {key} {value}, which does not exist")
        link[key] = value
    link["identifier"] = item.get("identifier")
    return link


def _beam(item: dict) -> dict[str, Any]:
    return {
        "wavelength": float(item["wavelength"]),
        "direction": [float(v) for v in item.get("direction") or []],
        "polarization_fraction": item.get("polarization_fraction"),
    }


def _detector(item: dict) -> dict[str, Any]:
    panels = []
    for panel in item.get("panels", []):
        panels.append({
            "name": panel.get("name"),
            "type": panel.get("type"),
            "material": panel.get("material"),
            "thickness": panel.get("thickness"),
            "image_size": list(panel.get("image_size") or []),
            "pixel_size": [float(v) for v in panel.get("pixel_size") or []],
            "origin": [float(v) for v in panel.get("origin") or []],
            "trusted_range": [float(v) for v in panel.get("trusted_range") or []],
        })
    return {"n_panels": len(panels), "panels": panels}


def _scan(item: dict) -> dict[str, Any]:
    image_range = list(item.get("image_range") or [])
    oscillation = [float(v) for v in item.get("oscillation") or []]
    return {
        "image_range": image_range,
        "oscillation_start": oscillation[0] if oscillation else None,
        "oscillation_width": oscillation[1] if len(oscillation) > 1 else None,
        "n_images": image_range[1] - image_range[0] + 1 if len(image_range) == 2 else None,
    }


def _imageset(item: dict) -> dict[str, Any]:
    return {
        "type": item.get("__id__"),
        "template": item.get("template"),
        "images": list(item.get("images") or []),
    }


def _crystal(item: dict, path: Path) -> dict[str, Any]:
    vectors = [[float(v) for v in item[f"real_space_{axis}"]] for axis in "abc"]
    if any(len(vector) != 3 for vector in vectors):
        raise ValueError("real-space vectors must have three components")
    hall = item.get("space_group_hall_symbol")
    return {
        "space_group_hall_symbol": hall,
        "space_group": _hm(hall, path),
        "cell": cell_dict(_cell(*vectors)),
    }


def _cell(a: list[float], b: list[float], c: list[float]) -> list[float]:
    """a, b, c (Å) and α, β, γ (°) from the three real-space vectors, rounded to 1e-4."""

    def dot(u, v):
        return sum(x * y for x, y in zip(u, v, strict=True))

    def angle(u, v):
        cosine = dot(u, v) / math.sqrt(dot(u, u) * dot(v, v))
        return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))

    lengths = [math.sqrt(dot(v, v)) for v in (a, b, c)]
    return [round(x, 4) for x in (*lengths, angle(b, c), angle(a, c), angle(a, b))]


def _hm(hall: str | None, path: Path) -> str | None:
    """Hermann–Mauguin symbol for a Hall symbol (gemmi); ParseError if gemmi rejects it."""
    if not hall or gemmi is None:
        return None
    try:
        return gemmi.find_spacegroup_by_ops(gemmi.symops_from_hall(hall.strip())).hm
    except (RuntimeError, ValueError, AttributeError) as exc:
        raise fail(path, f"unknown space_group_hall_symbol {hall!r} ({exc})") from None
