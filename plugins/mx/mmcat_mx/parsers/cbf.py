"""Parser for CBF image headers (Pilatus/Eiger miniCBF and full imgCIF).

A CBF carries up to two descriptions of the same image:

* the **miniCBF** header: ``# Key value unit`` lines in ``_array_data.header_contents``
  (Dectris ``PILATUS_1.2`` convention), returned under ``mini_cbf`` in their own units
  (distance in m, as written);
* the **imgCIF** categories (``_diffrn_scan_axis``, ``_diffrn_measurement``, ``_array_…``),
  read with gemmi's CIF parser and returned under ``imgcif``.

The top-level values prefer imgCIF where both exist (the DLS I19 file in the test data writes a
distance of 100 mm in the miniCBF header and 105 mm in imgCIF); every disagreement is listed in
``conflicts`` with both values. Top-level units: wavelength Å, distance mm, times s, angles °,
pixel size mm, beam centre pixels. The binary section is not decoded here (see
:mod:`mmcat_mx.images`), but its declared size is checked against the file, so a truncated image
is an error.

``parameters`` holds the MX dictionary keys a data collection can be created from. A single
CBF is one image, so ``number_of_images`` is not set from it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ._common import fail, read_head

FORMAT = "cbf_header"
HEAD_LIMIT = 1 << 20
BINARY_MARKER = b"\x0c\x1a\x04\xd5"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

#: miniCBF key -> (regex on the header text, converter name). Distances stay in metres.
MINI_FIELDS = {
    "timestamp": (r"^#\s*(\d{4}[-/]\d\d[-/]\d\d[T ][\d:.]+)", "text"),
    "pixel_size_x_m": (rf"^#\s*Pixel_size\s+({_NUM})\s*m\s*x", "float"),
    "pixel_size_y_m": (rf"^#\s*Pixel_size\s+{_NUM}\s*m\s*x\s*({_NUM})\s*m", "float"),
    "sensor_material": (r"^#\s*(\w+)\s+sensor,\s*thickness", "text"),
    "sensor_thickness_m": (rf"^#\s*\w+\s+sensor,\s*thickness\s+({_NUM})\s*m", "float"),
    "exposure_time": (rf"^#\s*Exposure_time\s+({_NUM})", "float"),
    "exposure_period": (rf"^#\s*Exposure_period\s+({_NUM})", "float"),
    "count_cutoff": (rf"^#\s*Count_cutoff\s+({_NUM})", "int"),
    "threshold_ev": (rf"^#\s*Threshold_setting:?\s*({_NUM})", "float"),
    "image_path": (r"^#\s*Image_path:\s*(.*?)\s*$", "text"),
    "wavelength": (rf"^#\s*Wavelength\s+({_NUM})", "float"),
    "detector_distance_m": (rf"^#\s*Detector_distance\s+({_NUM})", "float"),
    "beam_x": (rf"^#\s*Beam_xy\s*\(\s*({_NUM})\s*,", "float"),
    "beam_y": (rf"^#\s*Beam_xy\s*\(\s*{_NUM}\s*,\s*({_NUM})\s*\)", "float"),
    "flux": (rf"^#\s*Flux\s+({_NUM})", "float"),
    "transmission": (rf"^#\s*Filter_transmission\s+({_NUM})", "float"),
    "start_angle": (rf"^#\s*Start_angle\s+({_NUM})", "float"),
    "angle_increment": (rf"^#\s*Angle_increment\s+({_NUM})", "float"),
    "detector_2theta": (rf"^#\s*Detector_2theta\s+({_NUM})", "float"),
    "omega": (rf"^#\s*Omega\s+({_NUM})", "float"),
    "alpha": (rf"^#\s*Alpha\s+({_NUM})", "float"),
    "kappa": (rf"^#\s*Kappa\s+({_NUM})", "float"),
    "phi": (rf"^#\s*Phi\s+({_NUM})", "float"),
    "chi": (rf"^#\s*Chi\s+({_NUM})", "float"),
    "oscillation_axis": (r"^#\s*Oscillation_axis\s+(\S+)", "text"),
    "n_oscillations": (rf"^#\s*N_oscillations\s+({_NUM})", "int"),
}


def detect(path: Path) -> bool:
    """True for ``###CBF`` files, or CIF text with an ``_array_data`` binary section."""
    head = read_head(path)
    return head.startswith("###CBF") or (
        "_array_data." in head and "--CIF-BINARY-FORMAT-SECTION--" in head
    )


def parse(path: Path) -> dict[str, Any]:
    """Parse a CBF header; raise ParseError if it is not one, or the image is truncated."""
    path = Path(path)
    head, binary = _split(path)
    block = _cif_block(head, path)
    mini_text = _value(block, "_array_data.header_contents") or ""
    mini = _mini(mini_text, path)
    imgcif = _imgcif(block, path)
    merged, conflicts = _merge(mini, imgcif)
    first_line = head.splitlines()[0] if head else ""
    version = re.match(r"###CBF:\s*VERSION\s+([\d.]+)", first_line)
    result = {
        "format": FORMAT,
        "cbf_version": version[1] if version else None,
        "data_block": block.name,
        "header_convention": _value(block, "_array_data.header_convention"),
        **merged,
        "image_size": binary["image_size"] or imgcif["image_size"],
        "element_type": binary["element_type"] or imgcif["encoding"],
        "compression": binary["compression"] or imgcif["compression"],
        "binary_size": binary["size"],
        "mini_cbf": mini,
        "imgcif": imgcif,
        "conflicts": conflicts,
    }
    result["parameters"] = _parameters(result)
    return result


# --- file layout ----------------------------------------------------------------------------


def _split(path: Path) -> tuple[str, dict[str, Any]]:
    """Header text before ``_array_data.data`` and the MIME description of the binary part."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            raw = handle.read(HEAD_LIMIT)
    except OSError as exc:
        raise fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise fail(path, "file is empty")
    start = raw.find(b"_array_data.data")
    if start < 0:
        raise fail(path, "no '_array_data.data' item; not a CBF image (or truncated header)")
    marker = raw.find(BINARY_MARKER, start)
    if marker < 0:
        raise fail(path, "truncated: the binary section does not start within the file")
    mime = raw[start:marker].decode("latin-1")
    declared = _mime_int(mime, "X-Binary-Size", path)
    if declared is None:
        raise fail(path, "the binary section has no X-Binary-Size")
    if size < marker + len(BINARY_MARKER) + declared:
        raise fail(path, f"truncated: the image declares {declared} bytes of data but the "
                         f"file ends {marker + 4 + declared - size} bytes short")
    fast = _mime_int(mime, "X-Binary-Size-Fastest-Dimension", path)
    slow = _mime_int(mime, "X-Binary-Size-Second-Dimension", path)
    conversion = re.search(r'conversions="?([\w-]+)"?', mime)
    element = re.search(r'X-Binary-Element-Type:\s*"?([^"\r\n]+)"?', mime)
    return raw[:start].decode("latin-1"), {
        "size": declared,
        "image_size": [fast, slow] if fast and slow else None,
        "compression": conversion[1].removeprefix("x-") if conversion else None,
        "element_type": element[1].strip() if element else None,
    }


def _mime_int(mime: str, key: str, path: Path) -> int | None:
    match = re.search(rf"^{re.escape(key)}:\s*(\d+)\s*$", mime, re.M)
    return int(match[1]) if match else None


def _cif_block(text: str, path: Path):
    """The first data block of the header, parsed by gemmi."""
    import gemmi

    try:
        doc = gemmi.cif.read_string(text)
    except (RuntimeError, ValueError) as exc:
        raise fail(path, f"the CIF header cannot be parsed ({exc})") from None
    if len(doc) == 0:
        raise fail(path, "the header has no data_ block")
    return doc[0]


def _value(block, tag: str) -> str | None:
    """One CIF value as text (quotes and text-field semicolons removed); None if ./?/absent."""
    import gemmi

    raw = block.find_value(tag)
    if raw is None or raw in (".", "?"):
        return None
    return gemmi.cif.as_string(raw).strip()


def _float(text: str | None) -> float | None:
    if text is None or text in (".", "?"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


# --- miniCBF ---------------------------------------------------------------------------------


def _mini(text: str, path: Path) -> dict[str, Any]:
    """The ``# Key value`` lines of the Dectris header (empty dict if there is none)."""
    if not text.strip():
        return {}
    detector = re.search(r"^#\s*Detector:\s*(.+?)(?:,\s*S/N\s+([^,\s]+))?(?:,\s*(.*?))?\s*$",
                         text, re.M)
    mini: dict[str, Any] = {
        "detector": detector[1].strip() if detector else None,
        "serial_number": detector[2] if detector else None,
        "site": detector[3] if detector else None,
    }
    for key, (pattern, kind) in MINI_FIELDS.items():
        match = re.search(pattern, text, re.M)
        if match is None:
            mini[key] = None
        elif kind == "text":
            mini[key] = match[1]
        elif kind == "int":
            mini[key] = int(float(match[1]))
        else:
            mini[key] = float(match[1])
    return mini


# --- imgCIF ----------------------------------------------------------------------------------


def _loop(block, prefix: str, tags: list[str]) -> list[dict[str, str | None]]:
    """Rows of a category as dicts (missing tags as None)."""
    import gemmi

    present = [tag for tag in tags if block.find_value(prefix + tag) is not None
               or block.find_loop(prefix + tag)]
    if not present:
        return []
    table = block.find(prefix, present)
    rows = []
    for row in table:
        values = {}
        for i, tag in enumerate(present):
            values[tag] = None if row[i] in (".", "?") else gemmi.cif.as_string(row[i])
        rows.append({tag: values.get(tag) for tag in tags})
    return rows


def _imgcif(block, path: Path) -> dict[str, Any]:
    """The imgCIF categories that describe the geometry and the array."""
    axes = [
        {
            "axis": row["axis_id"],
            "angle_start": _float(row["angle_start"]),
            "angle_range": _float(row["angle_range"]),
            "angle_increment": _float(row["angle_increment"]),
            "displacement_start": _float(row["displacement_start"]),
        }
        for row in _loop(block, "_diffrn_scan_axis.",
                         ["axis_id", "angle_start", "angle_range", "angle_increment",
                          "displacement_start"])
    ]
    frame = (_loop(block, "_diffrn_scan_frame.",
                   ["frame_number", "integration_time", "exposure_time", "date"]) or [{}])[0]
    dims = {
        row["index"]: row["dimension"]
        for row in _loop(block, "_array_structure_list.", ["index", "dimension"])
    }
    structure = (_loop(block, "_array_structure.",
                       ["encoding_type", "compression_type", "byte_order"]) or [{}])[0]
    intensities = (_loop(block, "_array_intensities.", ["overload", "undefined_value"])
                   or [{}])[0]
    element = [_float(row["size"]) for row in _loop(block, "_array_element_size.", ["size"])]
    detector = (_loop(block, "_diffrn_detector.", ["id", "type", "detector"]) or [{}])[0]
    scanning = [axis for axis in axes if axis["angle_range"] or axis["angle_increment"]]
    size = [int(dims[i]) for i in ("1", "2") if dims.get(i)]
    return {
        "detector_id": detector.get("id"),
        "detector_type": detector.get("type") or detector.get("detector"),
        "wavelength": _float(_value(block, "_diffrn_radiation_wavelength.wavelength")),
        "sample_detector_distance": _float(
            _value(block, "_diffrn_measurement.sample_detector_distance")),
        "frames": _float(_value(block, "_diffrn_scan.frames")),
        "scan_axes": axes,
        "scan_axis": scanning[0]["axis"] if scanning else None,
        "frame_date": frame.get("date"),
        "integration_time": _float(frame.get("integration_time")),
        "exposure_time": _float(frame.get("exposure_time")),
        "image_size": size if len(size) == 2 else None,
        "pixel_size_m": element or None,
        "encoding": structure.get("encoding_type"),
        "compression": structure.get("compression_type"),
        "byte_order": structure.get("byte_order"),
        "overload": _float(intensities.get("overload")),
        "undefined_value": _float(intensities.get("undefined_value")),
    }


# --- the merged view -------------------------------------------------------------------------


def _merge(mini: dict[str, Any], img: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """Top-level values, imgCIF first; and the list of keys where the two headers disagree."""
    scan = next((a for a in img["scan_axes"] if a["axis"] == img["scan_axis"]), None)
    distance_z = next((a["displacement_start"] for a in img["scan_axes"]
                       if a["axis"] == "DETECTOR_Z" and a["displacement_start"]), None)
    mini_distance = mini.get("detector_distance_m")
    pairs = {
        "wavelength": (mini.get("wavelength"), img["wavelength"]),
        "detector_distance": (
            mini_distance * 1000 if mini_distance is not None else None,
            img["sample_detector_distance"] or distance_z,
        ),
        "exposure_time": (mini.get("exposure_time"), img["integration_time"]),
        "oscillation_start": (mini.get("start_angle"), scan["angle_start"] if scan else None),
        "oscillation_range": (
            mini.get("angle_increment"),
            (scan["angle_increment"] or scan["angle_range"]) if scan else None,
        ),
    }
    merged: dict[str, Any] = {}
    conflicts = []
    for key, (from_mini, from_img) in pairs.items():
        merged[key] = from_img if from_img is not None else from_mini
        if (from_mini is not None and from_img is not None
                and abs(from_mini - from_img) > 1e-6 * max(1.0, abs(from_img))):
            conflicts.append({"key": key, "mini_cbf": from_mini, "imgcif": from_img,
                              "used": "imgcif"})
    pixel = img["pixel_size_m"] or [mini.get("pixel_size_x_m"), mini.get("pixel_size_y_m")]
    detector = mini.get("detector")
    if detector and mini.get("serial_number"):
        detector = f"{detector}, S/N {mini['serial_number']}"
    merged.update({
        "oscillation_axis": img["scan_axis"] or mini.get("oscillation_axis"),
        "exposure_period": mini.get("exposure_period") or img["exposure_time"],
        "timestamp": img["frame_date"] or mini.get("timestamp"),
        "detector": detector or img["detector_type"],
        "beam_centre": ([mini["beam_x"], mini["beam_y"]]
                        if mini.get("beam_x") is not None else None),
        "pixel_size": [round(p * 1000, 6) if p is not None else None for p in pixel]
        if any(p is not None for p in pixel) else None,
        "threshold_ev": mini.get("threshold_ev"),
        "overload": img["overload"] or mini.get("count_cutoff"),
        "transmission": mini.get("transmission"),
        "flux": mini.get("flux"),
    })
    return merged, conflicts


def _parameters(result: dict[str, Any]) -> dict[str, Any]:
    """MX dictionary parameters (transmission in %, flux only when non-zero)."""
    params = {
        "wavelength": result["wavelength"],
        "exposure_time": result["exposure_time"],
        "oscillation_start": result["oscillation_start"],
        "oscillation_range": result["oscillation_range"],
        "detector_distance": result["detector_distance"],
        "transmission": (round(result["transmission"] * 100, 6)
                         if result["transmission"] is not None else None),
        "flux": result["flux"] or None,
        "detector": result["detector"],
    }
    return {key: value for key, value in params.items() if value is not None}
