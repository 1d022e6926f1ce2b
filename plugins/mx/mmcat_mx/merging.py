"""Merge unmerged intensities with gemmi and compute the merging statistics per resolution shell.

Reads XDS_ASCII.HKL (``gemmi.read_xds_ascii``) or an unmerged MTZ (with batch headers and
M/ISYM), applies the user's options (high-resolution cut-off, space group, cell), checks that
several inputs can be merged together (same point group, cells within a tolerance), merges to
mean intensities (``gemmi.Intensities``) and writes the merged MTZ.

The statistics come from gemmi (``Intensities.calculate_merging_stats``: Rmerge, Rmeas, Rpim,
CC½ per ``gemmi.Binner`` shell); completeness (against ``gemmi.make_miller_array``), multiplicity
and mean I/σ(I) of the merged reflections are counted here. The result uses the vocabulary of
:class:`mmcat_mx.models.ShellStatistics`: R values and CC½ as fractions, completeness in percent.

Only Friedel-merged (mean) intensities are produced; observations rejected by XDS (negative σ)
or flagged in an MTZ FLAG column are not used. Several inputs must be indexed consistently: an
indexing ambiguity (alternative settings of the same lattice) is not resolved here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gemmi
import numpy as np

#: largest relative difference of a cell length, and difference of an angle (°), tolerated
#: between inputs (and between the data and a cell given by the user)
CELL_LENGTH_TOLERANCE = 0.03
CELL_ANGLE_TOLERANCE = 2.0
DEFAULT_BINS = 10
SHELL_KEYS = ("resolution_low", "resolution_high", "n_observations", "n_unique", "r_merge",
              "r_meas", "r_pim", "i_over_sigma", "cc_half", "completeness", "multiplicity")


class MergingError(ValueError):
    """The data cannot be merged as asked; the message says why, naming the file or option."""


@dataclass
class Unmerged:
    """Unmerged observations of one input, with the symmetry and cell it was processed in."""

    name: str
    space_group: gemmi.SpaceGroup
    cell: gemmi.UnitCell
    miller: np.ndarray  # (n, 3) int32, indices as measured (not reduced to the asu)
    intensity: np.ndarray
    sigma: np.ndarray
    n_records: int  # records in the file, rejected ones included
    wavelength: float | None = None
    program: str = ""

    @property
    def n_observations(self) -> int:
        return len(self.intensity)


def _contiguous(array, dtype) -> np.ndarray:
    # gemmi's array accessors return strided views, which gemmi functions taking arrays misread
    return np.ascontiguousarray(array, dtype=dtype)


def read_unmerged(path: str | Path, name: str | None = None) -> Unmerged:
    """Read the unmerged observations of an XDS_ASCII.HKL or an unmerged MTZ file."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise MergingError(f"{name}: file not found")
    with path.open("rb") as f:
        head = f.read(200)
    if head.startswith(b"MTZ "):
        return _read_mtz(path, name)
    if head.startswith(b"!FORMAT=XDS_ASCII"):
        return _read_xds(path, name, head.split(b"\n", 1)[0].decode("ascii", "replace"))
    raise MergingError(f"{name}: neither XDS_ASCII.HKL nor MTZ; give unmerged intensities")


def _read_xds(path: Path, name: str, first_line: str) -> Unmerged:
    if "MERGE=TRUE" in first_line.replace(" ", "").upper():
        raise MergingError(f"{name}: holds merged intensities (MERGE=TRUE); merging needs the "
                           "unmerged XDS_ASCII.HKL (MERGE=FALSE)")
    try:
        xds = gemmi.read_xds_ascii(str(path))
    except (RuntimeError, ValueError) as exc:
        raise MergingError(f"{name}: cannot be read as XDS_ASCII: {exc}") from None
    if not xds.spacegroup_number or not any(xds.cell_constants):
        raise MergingError(f"{name}: has no SPACE_GROUP_NUMBER or UNIT_CELL_CONSTANTS")
    sigma = _contiguous(xds.sigma_array, np.float64)
    intensity = _contiguous(xds.iobs_array, np.float64)
    keep = (sigma > 0) & np.isfinite(intensity)  # XDS marks misfits with a negative sigma
    version = f" {xds.generated_by}" if xds.generated_by else ""
    return Unmerged(
        name=name,
        space_group=gemmi.find_spacegroup_by_number(xds.spacegroup_number),
        cell=gemmi.UnitCell(*xds.cell_constants),
        miller=_contiguous(xds.miller_array, np.int32)[keep],
        intensity=intensity[keep], sigma=sigma[keep], n_records=xds.data_size,
        wavelength=xds.wavelength or None, program=f"XDS{version}",
    )


def _read_mtz(path: Path, name: str) -> Unmerged:
    try:
        mtz = gemmi.read_mtz_file(str(path))
    except (RuntimeError, ValueError) as exc:
        raise MergingError(f"{name}: cannot be read as MTZ: {exc}") from None
    if not mtz.batches or mtz.column_with_label("M/ISYM") is None:
        raise MergingError(f"{name}: holds merged data (no batch headers or M/ISYM column); "
                           "merging needs unmerged intensities")
    if mtz.spacegroup is None:
        raise MergingError(f"{name}: has no space group")
    intensity_col = mtz.column_with_label("I") or next(
        (c for c in mtz.columns if c.type == "J"), None)
    if intensity_col is None:
        raise MergingError(f"{name}: has no intensity column (I)")
    sigma_col = mtz.column_with_label("SIG" + intensity_col.label) or next(
        (c for c in mtz.columns if c.type == "Q"), None)
    if sigma_col is None:
        raise MergingError(f"{name}: has no sigma column for {intensity_col.label}")
    n_records = mtz.nreflections
    mtz.switch_to_original_hkl()
    data = np.array(mtz, copy=True)
    keep = np.isfinite(data[:, intensity_col.idx]) & (data[:, sigma_col.idx] > 0)
    flag = mtz.column_with_label("FLAG")
    if flag is not None:
        keep &= data[:, flag.idx] == 0
    data = data[keep]
    wavelength = next((d.wavelength for d in mtz.datasets if d.wavelength > 0), None)
    return Unmerged(
        name=name, space_group=mtz.spacegroup, cell=mtz.cell,
        miller=_contiguous(data[:, :3], np.int32),
        intensity=_contiguous(data[:, intensity_col.idx], np.float64),
        sigma=_contiguous(data[:, sigma_col.idx], np.float64),
        n_records=n_records, wavelength=wavelength, program="",
    )


def parse_space_group(symbol: str) -> gemmi.SpaceGroup:
    """A space group from a Hermann–Mauguin symbol (``P212121``, ``P 21 21 21``) or a number."""
    text = str(symbol).strip()
    try:
        found = (gemmi.find_spacegroup_by_number(int(text)) if text.isdigit()
                 else gemmi.find_spacegroup_by_name(text))
    except (RuntimeError, ValueError):
        found = None
    if found is None:
        raise MergingError(f"unknown space group {symbol!r}")
    return found


def parse_cell(values: Sequence[float]) -> gemmi.UnitCell:
    """A unit cell from six numbers a, b, c (Å), α, β, γ (°)."""
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise MergingError(f"the cell must be six numbers a b c α β γ, got {values!r}") from None
    if len(numbers) != 6 or not all(math.isfinite(v) for v in numbers):
        raise MergingError(f"the cell must be six numbers a b c α β γ, got {values!r}")
    if min(numbers[:3]) <= 0 or not all(0 < v < 180 for v in numbers[3:]):
        raise MergingError(f"impossible cell {numbers}: lengths must be > 0 Å and angles "
                           "between 0 and 180°")
    cell = gemmi.UnitCell(*numbers)
    if not cell.volume > 0 or not math.isfinite(cell.volume):
        raise MergingError(f"impossible cell {numbers}: these angles enclose no volume")
    return cell


def _cell_list(cell: gemmi.UnitCell) -> list[float]:
    return [cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma]


def _cell_text(cell: gemmi.UnitCell) -> str:
    return " ".join(f"{v:.3f}" if i < 3 else f"{v:.2f}" for i, v in enumerate(_cell_list(cell)))


def cell_difference(one: gemmi.UnitCell, other: gemmi.UnitCell) -> tuple[float, float]:
    """Largest relative difference of the lengths and largest difference of the angles (°)."""
    a, b = _cell_list(one), _cell_list(other)
    lengths = max(abs(x - y) / y for x, y in zip(a[:3], b[:3], strict=True))
    angles = max(abs(x - y) for x, y in zip(a[3:], b[3:], strict=True))
    return lengths, angles


def _check_cell(cell, reference, what: str, length_tol: float, angle_tol: float) -> None:
    lengths, angles = cell_difference(cell, reference)
    if lengths > length_tol or angles > angle_tol:
        raise MergingError(
            f"{what}: cell {_cell_text(cell)} differs from {_cell_text(reference)} by "
            f"{lengths:.1%} in length / {angles:.1f}° in angle (tolerated: {length_tol:.0%}, "
            f"{angle_tol:g}°); these data are not isomorphous enough to merge")


def check_compatible(inputs: Sequence[Unmerged], space_group: gemmi.SpaceGroup | None = None, *,
                     length_tol: float = CELL_LENGTH_TOLERANCE,
                     angle_tol: float = CELL_ANGLE_TOLERANCE) -> None:
    """Refuse inputs that cannot be merged: different point groups (unless a space group is
    imposed), a space group whose lattice or symmetry the cells do not fit, cells too far apart.
    """
    first = inputs[0]
    for item in inputs[1:]:
        if space_group is None and (item.space_group.point_group_hm()
                                    != first.space_group.point_group_hm()):
            raise MergingError(
                f"{item.name} is in point group {item.space_group.point_group_hm()} "
                f"({item.space_group.xhm()}) but {first.name} in "
                f"{first.space_group.point_group_hm()} ({first.space_group.xhm()}); "
                "reprocess them in the same point group or set the space group to merge in")
        _check_cell(item.cell, first.cell, item.name, length_tol, angle_tol)
    if space_group is None:
        return
    for item in inputs:
        if space_group.centring_type() != item.space_group.centring_type():
            raise MergingError(
                f"space group {space_group.xhm()} is incompatible with {item.name}: its lattice "
                f"is {space_group.centring_type()}, the data were indexed on a "
                f"{item.space_group.centring_type()} lattice ({item.space_group.xhm()})")
        _check_symmetry(item.cell, space_group, item.name)


def _check_symmetry(cell: gemmi.UnitCell, space_group: gemmi.SpaceGroup, what: str) -> None:
    if not cell.is_compatible_with_spacegroup(space_group, 1e-2):
        raise MergingError(
            f"space group {space_group.xhm()} ({space_group.crystal_system_str()}) is "
            f"incompatible with the cell of {what} ({_cell_text(cell)})")


def _mean_cell(inputs: Sequence[Unmerged]) -> gemmi.UnitCell:
    values = np.mean([_cell_list(item.cell) for item in inputs], axis=0)
    return gemmi.UnitCell(*values)


def _number(value: float, digits: int) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _shell(stats, d_low: float, d_high: float, i_over_sigma: float, possible: int) -> dict:
    n_unique, n_obs = stats.unique_refl, stats.all_refl
    return {
        "resolution_low": round(d_low, 3),
        "resolution_high": round(d_high, 3),
        "n_observations": int(n_obs),
        "n_unique": int(n_unique),
        "r_merge": _number(stats.r_merge(), 4),
        "r_meas": _number(stats.r_meas(), 4),
        "r_pim": _number(stats.r_pim(), 4),
        "i_over_sigma": _number(i_over_sigma, 2),
        "cc_half": _number(stats.cc_half(), 4),
        "completeness": round(100.0 * n_unique / possible, 2) if possible else None,
        "multiplicity": round(n_obs / n_unique, 2) if n_unique else None,
    }


def merge(sources: Sequence[str | Path | Unmerged], *, resolution: float | None = None,
          space_group: str | None = None, cell: Sequence[float] | None = None,
          n_bins: int = DEFAULT_BINS, mtz_path: str | Path | None = None,
          length_tol: float = CELL_LENGTH_TOLERANCE, angle_tol: float = CELL_ANGLE_TOLERANCE,
          log: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Merge the unmerged observations of one or several inputs (paths or :class:`Unmerged`).

    ``resolution``: high-resolution cut-off in Å; ``space_group``: a symbol or number to merge
    in (same lattice centring, fitting the cells); ``cell``: six numbers replacing the (mean)
    cell, within the tolerance of the data's (None, "" and [] keep the data's);
    ``n_bins``: resolution shells (the first is the inner shell, the last the outer one);
    ``mtz_path``: where to write the merged intensities (IMEAN, SIGIMEAN, NOBS). Returns
    ``{"space_group", "space_group_number", "cell", "wavelength", "wavelengths", "inputs",
    "n_records", "shells": {"overall", "inner", "outer"}, "bins", "program", "mtz_path"}``.
    Raises :class:`MergingError`.
    """
    say = log or (lambda message: None)
    inputs = [s if isinstance(s, Unmerged) else read_unmerged(s) for s in sources]
    if not inputs:
        raise MergingError("nothing to merge: give at least one input")
    for item in inputs:
        say(f"{item.name}: {item.n_observations} of {item.n_records} observations, "
            f"{item.space_group.xhm()}, cell {_cell_text(item.cell)}")
        if not item.n_observations:
            raise MergingError(f"{item.name}: holds no usable observation")
    if not isinstance(n_bins, int) or not 1 <= n_bins <= 100:
        raise MergingError(f"the number of resolution shells must be 1 to 100, got {n_bins!r}")
    target_sg = parse_space_group(space_group) if space_group not in (None, "") else None
    check_compatible(inputs, target_sg, length_tol=length_tol, angle_tol=angle_tol)
    target_sg = target_sg or inputs[0].space_group
    target_cell = _mean_cell(inputs)
    if cell is not None and not (isinstance(cell, str | list | tuple) and not cell):
        given = parse_cell(cell)
        _check_cell(given, target_cell, "the cell given", length_tol, angle_tol)
        _check_symmetry(given, target_sg, "the cell given")
        target_cell = given

    miller = np.concatenate([item.miller for item in inputs])
    intensity = np.concatenate([item.intensity for item in inputs])
    sigma = np.concatenate([item.sigma for item in inputs])
    if resolution is not None:
        try:
            resolution = float(resolution)
        except (TypeError, ValueError):
            raise MergingError(f"the resolution cut-off must be a number of Å, got "
                               f"{resolution!r}") from None
        if not resolution > 0:
            raise MergingError(f"the resolution cut-off must be > 0 Å, got {resolution}")
        keep = target_cell.calculate_d_array(miller) >= resolution
        say(f"resolution cut-off {resolution} Å keeps {int(keep.sum())} of {len(keep)} "
            "observations")
        miller, intensity, sigma = miller[keep], intensity[keep], sigma[keep]
        if not len(miller):
            raise MergingError(f"no observation is left at {resolution} Å or lower resolution")

    data = gemmi.Intensities()
    data.set_data(target_cell, target_sg, _contiguous(miller, np.int32),
                  _contiguous(intensity, np.float64), _contiguous(sigma, np.float64))
    before = len(data.value_array)
    data.remove_systematic_absences()
    if len(data.value_array) < before:
        say(f"removed {before - len(data.value_array)} systematically absent observations "
            f"in {target_sg.xhm()}")
    if not len(data.value_array):
        raise MergingError(f"no observation is left in {target_sg.xhm()}")
    data.prepare_for_merging(gemmi.DataType.Mean)
    merged = data.clone()
    merged.merge_in_place(gemmi.DataType.Mean)
    d_max, d_min = merged.resolution_range()
    say(f"merged {len(data.value_array)} observations into {len(merged.value_array)} unique "
        f"reflections in {target_sg.xhm()}, {d_max:.2f}-{d_min:.2f} Å")

    merged_hkl = _contiguous(merged.miller_array, np.int32)
    i_over_sigma = _contiguous(merged.value_array, np.float64) / _contiguous(
        merged.sigma_array, np.float64)
    possible_hkl = gemmi.make_miller_array(target_cell, target_sg, d_min - 1e-6, d_max + 1e-6)
    n_bins = min(n_bins, len(merged_hkl))
    binner = gemmi.Binner()
    binner.setup(n_bins, gemmi.Binner.Method.Dstar3, merged)
    merged_bins = binner.get_bins(merged_hkl)
    possible_bins = binner.get_bins(_contiguous(possible_hkl, np.int32))
    per_bin = data.calculate_merging_stats(binner)
    overall_stats = data.calculate_merging_stats(None)[0]

    bins = []
    for index, stats in enumerate(per_bin):
        in_bin = merged_bins == index
        bins.append(_shell(stats, min(binner.dmax_of_bin(index), d_max),
                           max(binner.dmin_of_bin(index), d_min),
                           float(i_over_sigma[in_bin].mean()) if in_bin.any() else math.nan,
                           int((possible_bins == index).sum())))
    overall = _shell(overall_stats, d_max, d_min, float(i_over_sigma.mean()), len(possible_hkl))
    wavelengths = sorted({round(item.wavelength, 5) for item in inputs if item.wavelength})
    result = {
        "space_group": target_sg.xhm(),
        "space_group_number": target_sg.number,
        "cell": [round(v, 4) for v in _cell_list(target_cell)],
        "wavelength": wavelengths[0] if len(wavelengths) == 1 else None,
        "wavelengths": wavelengths,
        "inputs": [{"name": item.name, "n_records": item.n_records,
                    "n_observations": item.n_observations, "space_group": item.space_group.xhm(),
                    "cell": [round(v, 4) for v in _cell_list(item.cell)],
                    "program": item.program} for item in inputs],
        "n_records": sum(item.n_records for item in inputs),
        "shells": {"overall": overall, "inner": bins[0], "outer": bins[-1]},
        "bins": bins,
        "program": f"gemmi {gemmi.__version__}",
        "mtz_path": None,
    }
    if mtz_path is not None:
        result["mtz_path"] = str(write_mtz(merged, mtz_path, result))
        say(f"wrote {Path(mtz_path).name}")
    return result


def write_mtz(merged: gemmi.Intensities, path: str | Path, result: dict[str, Any]) -> Path:
    """Write merged mean intensities (IMEAN, SIGIMEAN, NOBS) to an MTZ file."""
    path = Path(path)
    mtz = merged.prepare_merged_mtz(True)
    mtz.title = f"Merged by mmCAT with {result['program']}"
    names = ", ".join(item["name"] for item in result["inputs"])
    mtz.history = [f"mmCAT merge ({result['program']}) of {names}"[:80]]
    if result["wavelength"] and len(mtz.datasets) > 1:
        mtz.datasets[1].wavelength = result["wavelength"]
    mtz.write_to_file(str(path))
    return path
