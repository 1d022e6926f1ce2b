"""Parser for MTZ reflection files, read with gemmi.

Returns the header: title, space group, cell, number of reflections, resolution range,
datasets (project / crystal / dataset / wavelength), columns with their types, history lines
(with the programs named in ``From PROGRAM date`` lines) and the batch count, which tells
merged (0 batches) from unmerged files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes
from ._shells import cell_dict

FORMAT = "mtz"
MAGIC = b"MTZ "


def detect(path: Path) -> bool:
    """True if the file starts with the ``MTZ`` magic bytes."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


def parse(path: Path) -> dict[str, Any]:
    """Read the MTZ header with gemmi; raise ParseError if gemmi cannot read the file."""
    import gemmi

    path = Path(path)
    data = read_bytes(path)
    if not data.startswith(MAGIC):
        raise fail(path, "does not start with 'MTZ '; not an MTZ file")
    try:
        mtz = gemmi.read_mtz_file(str(path))
    except (RuntimeError, ValueError, OSError) as exc:
        raise fail(path, f"gemmi cannot read this MTZ file ({exc})") from None
    if mtz.spacegroup is None:
        raise fail(path, "the MTZ header has no space group")
    cell = mtz.cell
    datasets = [
        {
            "id": ds.id,
            "project": ds.project_name,
            "crystal": ds.crystal_name,
            "dataset": ds.dataset_name,
            "wavelength": round(ds.wavelength, 6),
        }
        for ds in mtz.datasets
    ]
    real = [ds for ds in datasets if ds["dataset"] != "HKL_base"]
    history = [line.rstrip() for line in mtz.history]
    n_batches = len(mtz.batches)
    programs = _programs(history)
    return {
        "format": FORMAT,
        "program": (programs[0] if programs else {"name": None, "version": None}),
        "title": mtz.title.strip(),
        "space_group": mtz.spacegroup.hm,
        "space_group_number": mtz.spacegroup.number,
        "cell": cell_dict([round(v, 4) for v in
                           (cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma)]),
        "n_reflections": mtz.nreflections,
        "resolution_low": round(mtz.resolution_low(), 3) if mtz.nreflections else None,
        "resolution_high": round(mtz.resolution_high(), 3) if mtz.nreflections else None,
        "wavelength": real[0]["wavelength"] if real else None,
        "datasets": datasets,
        "columns": [
            {"label": col.label, "type": col.type, "dataset_id": col.dataset_id}
            for col in mtz.columns
        ],
        "history": history,
        "history_programs": programs,
        "n_batches": n_batches,
        "merged": n_batches == 0,
    }


def _programs(history: list[str]) -> list[dict[str, str | None]]:
    """Programs named in the history, newest first, without repeats.

    Recognises ``From PROGRAM[, version V]…`` and ``program V … run on …`` lines.
    """
    found: list[dict[str, str | None]] = []
    for line in history:
        match = re.match(r"\s*From\s+(\w[\w.-]*?),?(?:\s+version\s+(\S+?),)?\s", line + " ")
        match = match or re.match(r"\s*([A-Za-z]\w*)\s+(\d[\w.-]*)\s.*\brun on\b", line)
        if match and all(item["name"] != match[1] for item in found):
            found.append({"name": match[1], "version": match[2]})
    return found
