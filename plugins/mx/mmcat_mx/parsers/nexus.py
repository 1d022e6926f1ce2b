"""Parser for NeXus/NXmx (HDF5) master-file headers, read with h5py.

Only metadata is read: the image data is never touched, so a master whose data files are
absent (a virtual dataset or external links to ``*_000001.h5``) still parses; the names of the
data files and whether each is present are reported under ``data``. Units are converted from
the ``units`` attributes: wavelength Å, lengths mm, times s, angles °.

``parameters`` holds the MX dictionary keys (transmission in %, flux in ph/s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._common import fail

FORMAT = "nexus_nxmx"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_LENGTH_TO_MM = {"m": 1000.0, "metre": 1000.0, "meter": 1000.0, "mm": 1.0, "millimetre": 1.0,
                 "cm": 10.0, "um": 1e-3, "micron": 1e-3, "microns": 1e-3, "µm": 1e-3}
_WAVELENGTH_TO_A = {"angstrom": 1.0, "a": 1.0, "å": 1.0, "nm": 10.0, "m": 1e10}
_ANGLE_TO_DEG = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "rad": 57.29577951308232}
_TIME_TO_S = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6}


def detect(path: Path) -> bool:
    """True for an HDF5 file (cheap: the 8-byte signature at offset 0)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == HDF5_MAGIC
    except OSError:
        return False


def parse(path: Path) -> dict[str, Any]:
    """Read an NXmx master's metadata; raise ParseError if it is not HDF5/NeXus."""
    import h5py

    path = Path(path)
    if not detect(path):
        raise fail(path, "not an HDF5 file (no HDF5 signature)")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise fail(path, f"HDF5 cannot open this file, truncated or damaged? ({exc})") from None
    try:
        with handle:
            return _parse(handle, path)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise fail(path, f"unreadable NeXus content ({type(exc).__name__}: {exc})") from None


def _parse(f, path: Path) -> dict[str, Any]:
    entry = _child_of_class(f, "NXentry") or f.get("entry")
    if entry is None:
        raise fail(path, "no NXentry group; not a NeXus file")
    instrument = _child_of_class(entry, "NXinstrument")
    if instrument is None:
        raise fail(path, "no NXinstrument group in the entry")
    detector = _child_of_class(instrument, "NXdetector")
    beam = _child_of_class(instrument, "NXbeam") or _child_of_class(
        entry.get("sample", {}) if "sample" in entry else {}, "NXbeam")
    source = _child_of_class(instrument, "NXsource")
    attenuator = _child_of_class(instrument, "NXattenuator")
    special = detector.get("detectorSpecific") if detector is not None else None
    scan = _scan_axis(entry)
    data = _data(entry, Path(path))
    result = {
        "format": FORMAT,
        "definition": _text(entry, "definition"),
        "start_time": _text(entry, "start_time"),
        "end_time": _text(entry, "end_time"),
        "instrument": _attr(instrument, "short_name") or _text(instrument, "name"),
        "source": {
            "name": _text(source, "name"),
            "short_name": _attr(source.get("name"), "short_name") if source is not None
            and "name" in source else None,
            "type": _text(source, "type"),
        },
        "wavelength": _number(beam, "incident_wavelength", _WAVELENGTH_TO_A, "angstrom"),
        "flux": _number(beam, "total_flux", None),
        "transmission": _number(attenuator, "attenuator_transmission", None),
        "detector": {
            "description": _text(detector, "description"),
            "type": _text(detector, "type"),
            "sensor_material": _text(detector, "sensor_material"),
            "sensor_thickness": _number(detector, "sensor_thickness", _LENGTH_TO_MM, "m"),
            "pixel_size": [_number(detector, "x_pixel_size", _LENGTH_TO_MM, "m"),
                           _number(detector, "y_pixel_size", _LENGTH_TO_MM, "m")],
            "image_size": [_integer(special, "x_pixels_in_detector"),
                           _integer(special, "y_pixels_in_detector")],
            "saturation_value": _integer(detector, "saturation_value"),
            "count_time": _number(detector, "count_time", _TIME_TO_S, "s"),
            "frame_time": _number(detector, "frame_time", _TIME_TO_S, "s"),
            "nimages": _integer(special, "nimages"),
            "ntrigger": _integer(special, "ntrigger"),
        },
        "beam_centre": [_number(detector, "beam_center_x", None),
                        _number(detector, "beam_center_y", None)],
        "detector_distance": _number(detector, "detector_distance", _LENGTH_TO_MM, "m"),
        "scan": scan,
        "data": data,
    }
    if result["detector"]["image_size"] == [None, None] and data["shape"]:
        result["detector"]["image_size"] = [data["shape"][-1], data["shape"][-2]]
    result["number_of_images"] = (
        (scan["n_values"] if scan else None) or result["detector"]["nimages"]
        or (data["shape"][0] if data["shape"] and len(data["shape"]) == 3 else None)
    )
    result["parameters"] = _parameters(result)
    return result


# --- h5py helpers ----------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _nx_class(obj) -> str | None:
    return _decode(obj.attrs.get("NX_class")) if hasattr(obj, "attrs") else None


def _child_of_class(group, nx_class: str):
    """The first member of ``group`` with ``NX_class == nx_class`` (links not followed)."""
    import h5py

    if group is None or not isinstance(group, h5py.Group):
        return None
    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            continue
        member = group.get(name)
        if isinstance(member, h5py.Group) and _nx_class(member) == nx_class:
            return member
    return None


def _dataset(group, name: str):
    import h5py

    if group is None or name not in group:
        return None
    if isinstance(group.get(name, getlink=True), h5py.ExternalLink):
        return None
    item = group[name]
    return item if isinstance(item, h5py.Dataset) else None


def _text(group, name: str) -> str | None:
    item = _dataset(group, name)
    if item is None:
        return None
    value = item[()]
    if hasattr(value, "shape") and value.shape:
        value = value.flat[0]
    value = _decode(value)
    return str(value).strip() if value is not None else None


def _attr(obj, name: str) -> str | None:
    if obj is None or not hasattr(obj, "attrs") or name not in obj.attrs:
        return None
    return str(_decode(obj.attrs[name]))


def _scalar(item) -> float | None:
    value = item[()]
    if hasattr(value, "shape") and value.shape:
        if value.size == 0:
            return None
        value = value.flat[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _convert(value: float | None, units: str | None, table: dict | None, default: str | None):
    """Scale ``value`` to the target unit using its ``units`` attribute (or ``default``)."""
    if value is None or table is None:
        return value
    unit = (units or default or "").strip().lower()
    if unit not in table:
        raise ValueError(f"unknown unit {units!r}")
    return value * table[unit]


def _number(group, name: str, table: dict | None, default: str | None = None) -> float | None:
    item = _dataset(group, name)
    if item is None:
        return None
    return _convert(_scalar(item), _attr(item, "units"), table, default)


def _integer(group, name: str) -> int | None:
    item = _dataset(group, name)
    value = _scalar(item) if item is not None else None
    return int(value) if value is not None else None


def _scan_axis(entry) -> dict[str, Any] | None:
    """The rotation axis that moves during the scan (more than one distinct value)."""
    import h5py

    candidates = []
    for group in (entry.get("data"), entry.get("sample")):
        if group is None or not isinstance(group, h5py.Group):
            continue
        for name in group:
            if isinstance(group.get(name, getlink=True), h5py.ExternalLink):
                continue
            item = group.get(name)
            if (isinstance(item, h5py.Dataset) and not item.is_virtual and item.ndim == 1
                    and item.size > 1
                    and _attr(item, "transformation_type") == "rotation"):
                candidates.append((name, item))
    for name, item in candidates:
        values = item[()]
        units = _attr(item, "units")
        start = _convert(float(values[0]), units, _ANGLE_TO_DEG, "deg")
        step = _convert(float(values[1] - values[0]), units, _ANGLE_TO_DEG, "deg")
        last = _convert(float(values[-1]), units, _ANGLE_TO_DEG, "deg")
        vector = item.attrs.get("vector")
        return {
            "axis": name,
            "start": start,
            "increment": step,
            "last": last,
            "n_values": int(item.size),
            "vector": [float(v) for v in vector] if vector is not None else None,
        }
    return None


def _data(entry, path: Path) -> dict[str, Any]:
    """Shape of the image stack and its data files (present or not); nothing is read."""
    import h5py

    group = entry.get("data") if "data" in entry else None
    files: list[dict[str, Any]] = []
    shape = None
    virtual = False
    if isinstance(group, h5py.Group):
        for name in sorted(group):
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                target = path.parent / link.filename
                files.append({"link": name, "file": link.filename, "present": target.exists()})
        signal = _decode(group.attrs.get("signal")) or "data"
        item = _dataset(group, signal)
        if item is not None:
            shape = list(item.shape)
            virtual = item.is_virtual
    return {"shape": shape, "virtual": virtual, "files": files,
            "all_present": all(f["present"] for f in files)}


def _parameters(result: dict[str, Any]) -> dict[str, Any]:
    scan = result["scan"] or {}
    transmission = result["transmission"]
    params = {
        "wavelength": result["wavelength"],
        "exposure_time": result["detector"]["count_time"],
        "oscillation_start": scan.get("start"),
        "oscillation_range": scan.get("increment"),
        "number_of_images": result["number_of_images"],
        "detector_distance": result["detector_distance"],
        "transmission": round(transmission * 100, 6) if transmission is not None else None,
        "flux": result["flux"],
        "detector": result["detector"]["description"],
    }
    return {key: value for key, value in params.items() if value is not None}
