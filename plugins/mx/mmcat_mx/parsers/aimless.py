"""Parser for the CCP4 AIMLESS log (``*_aimless.log``).

The result is taken from the ``Summary data for Project: … Crystal: … Dataset: …`` block(s)
between ``<!--SUMMARY_BEGIN-->`` and ``<!--SUMMARY_END-->``. One block is printed per dataset
(several for MAD); the top-level ``shells`` are those of the first dataset and every dataset is
listed under ``datasets``. Row labels are matched after collapsing whitespace, so the spacing
differences between AIMLESS versions do not matter; rows this parser does not know are kept
under ``extra``. ``-`` (not given for that shell) becomes None.

``r_merge`` is Rmerge within I+/I- (what xia2 writes as ISPyB rMerge), or Rmerge over all I+
and I- when the log has only that row; both are also returned as ``r_merge_within`` and
``r_merge_all``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float
from ._shells import SHELL_NAMES, cell_dict, shells_from_columns

FORMAT = "aimless_log"

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_BANNER = re.compile(
    r"###\s*CCP4\s+(?P<ccp4>[^:]*?)\s*:\s*AIMLESS\s+version\s+(?P<version>\S+)\s*:\s*"
    r"(?P<date>[\d/]+)"
)
_RUN_DATE = re.compile(
    r"Run date:\s*(?P<d>\d+)/\s*(?P<m>\d+)/\s*(?P<y>\d+)\s+Run time:\s*(?P<t>[\d:]+)"
)
_SUMMARY_HEAD = re.compile(
    r"^Summary data for\s+Project:\s*(?P<project>\S*)\s+Crystal:\s*(?P<crystal>\S*)\s+"
    r"Dataset:\s*(?P<dataset>\S*)",
    re.M,
)
_DATASET_INFO = re.compile(
    r"Project:\s*(?P<project>\S+)\s+Crystal:\s*(?P<crystal>\S+)\s+Dataset:\s*(?P<dataset>\S+)"
    rf"\s*\n(?:[^\n]*\n){{0,3}}?\s*Wavelength:\s*(?P<wavelength>{_NUM})"
)

#: Summary row label (whitespace collapsed) -> result key.
ROWS = {
    "Low resolution limit": "resolution_low",
    "High resolution limit": "resolution_high",
    "Rmerge (within I+/I-)": "r_merge_within",
    "Rmerge (all I+ and I-)": "r_merge_all",
    "Rmerge (all I+ & I-)": "r_merge_all",
    "Rmerge": "r_merge_all",
    "Rmeas (within I+/I-)": "r_meas_within",
    "Rmeas (all I+ & I-)": "r_meas_all",
    "Rmeas (all I+ and I-)": "r_meas_all",
    "Rpim (within I+/I-)": "r_pim_within",
    "Rpim (all I+ & I-)": "r_pim_all",
    "Rpim (all I+ and I-)": "r_pim_all",
    "Rmerge in top intensity bin": "r_merge_top_bin",
    "Total number of observations": "n_observations",
    "Total number unique": "n_unique",
    "Mean((I)/sd(I))": "mean_i_over_sigma",
    "Mean(I)/sd(I)": "mean_i_over_sigma",
    "Mn(I) half-set correlation CC(1/2)": "cc_half",
    "Completeness": "completeness",
    "Multiplicity": "multiplicity",
    "Mean(Chi^2)": "mean_chi2",
    "Anomalous completeness": "anomalous_completeness",
    "Anomalous multiplicity": "anomalous_multiplicity",
    "DelAnom correlation between half-sets": "cc_anomalous",
    "Mid-Slope of Anom Normal Probability": "anomalous_mid_slope",
}
_TABLE_ENDS = ("Estimates of resolution", "Anisotropic deltaB", "Average unit cell")
REQUIRED = ("resolution_low", "resolution_high", "n_observations", "n_unique", "completeness")


def detect(path: Path) -> bool:
    """True if the first few kilobytes carry the ``CCP4 …: AIMLESS version …`` banner."""
    return bool(_BANNER.search(read_head(path)))


def parse(path: Path) -> dict[str, Any]:
    """Parse an AIMLESS log; raise ParseError if it is not one or has no complete summary."""
    path = Path(path)
    text = read_bytes(path).decode("latin-1")
    banner = _BANNER.search(text)
    if banner is None:
        raise fail(path, "no 'CCP4 …: AIMLESS version' banner; not an AIMLESS log")
    wavelengths = {
        (m["project"], m["crystal"], m["dataset"]): to_float(m["wavelength"], path, "wavelength")
        for m in _DATASET_INFO.finditer(text)
    }
    datasets = [_dataset(text, match, path, wavelengths) for match in _SUMMARY_HEAD.finditer(text)]
    if not datasets:
        raise fail(path, "no 'Summary data for Project: … Dataset: …' block (truncated log?)")
    first = datasets[0]
    run = _RUN_DATE.search(text)
    return {
        "format": FORMAT,
        "program": {
            "name": "AIMLESS",
            "version": banner["version"],
            "release_date": banner["date"],
            "ccp4_version": banner["ccp4"],
            "run_date": (
                f"{int(run['y']):04d}-{int(run['m']):02d}-{int(run['d']):02d} {run['t']}"
                if run else None
            ),
        },
        "space_group": first["space_group"],
        "cell": first["cell"],
        "wavelength": first["wavelength"],
        "shells": first["shells"],
        "r_merge_all": first["r_merge_all"],
        "r_merge_within": first["r_merge_within"],
        "r_merge_top_bin": first["r_merge_top_bin"],
        "anomalous_mid_slope": first["anomalous_mid_slope"],
        "resolution_estimates": first["resolution_estimates"],
        "anisotropic_delta_b": first["anisotropic_delta_b"],
        "mosaicity": first["mosaicity"],
        "datasets": datasets,
    }


def _dataset(
    text: str, head: re.Match[str], path: Path, wavelengths: dict[tuple[str, str, str], Any]
) -> dict[str, Any]:
    """One ``Summary data for`` block, which must be closed by ``<!--SUMMARY_END-->``."""
    end = text.find("<!--SUMMARY_END-->", head.end())
    if end < 0:
        raise fail(path, "truncated: the summary block has no <!--SUMMARY_END--> marker")
    block = text[head.end():end]
    rows: dict[str, list[float | None]] = {}
    extra: dict[str, list[float | None]] = {}
    for line in _table(block).splitlines():
        label, values = _split_row(line, path)
        if label is None:
            continue
        key = ROWS.get(label)
        if key is None:
            extra[label] = values
        elif key not in rows:
            rows[key] = values
    missing = [key for key in REQUIRED if key not in rows]
    if missing:
        raise fail(path, f"summary block lacks the row(s) {', '.join(missing)}")
    within, overall_all = rows.get("r_merge_within"), rows.get("r_merge_all")
    if within is not None or overall_all is not None:
        rows["r_merge"] = within if within is not None else overall_all
    name = (head["project"], head["crystal"], head["dataset"])
    return {
        "project": name[0],
        "crystal": name[1],
        "dataset": name[2],
        "wavelength": wavelengths.get(name),
        "shells": shells_from_columns(rows, path),
        "r_merge_all": _shells_of(rows.get("r_merge_all")),
        "r_merge_within": _shells_of(rows.get("r_merge_within")),
        "r_merge_top_bin": (rows.get("r_merge_top_bin") or [None])[0],
        "anomalous_mid_slope": (rows.get("anomalous_mid_slope") or [None])[0],
        "mean_chi2": _shells_of(rows.get("mean_chi2")),
        "extra": extra,
        "resolution_estimates": _estimates(block, path),
        "anisotropic_delta_b": _value(
            block, rf"Anisotropic deltaB[^:]*:\s*({_NUM})", path, "deltaB"),
        "cell": cell_dict(_numbers(block, r"^Average unit cell:(.*)$", path, 6)),
        "space_group": _group(block, r"^Space group:\s*(.+?)\s*$"),
        "mosaicity": _value(block, rf"^Average mosaicity:\s*({_NUM})", path, "mosaicity"),
    }


def _table(block: str) -> str:
    """The statistics rows: the block up to the resolution estimates / cell lines."""
    ends = [block.find(marker) for marker in _TABLE_ENDS]
    ends = [end for end in ends if end >= 0]
    return block[: min(ends)] if ends else block


def _split_row(line: str, path: Path) -> tuple[str | None, list[float | None]]:
    """``"Rmerge  (within I+/I-)   0.048  0.028  0.648"`` -> (label, [0.048, 0.028, 0.648])."""
    tokens = line.split()
    values: list[str] = []
    while tokens and len(values) < 3 and re.fullmatch(rf"{_NUM}|-", tokens[-1]):
        values.insert(0, tokens.pop())
    if not tokens or not values:
        return None, []
    label = " ".join(tokens)
    return label, [None if v == "-" else to_float(v, path, label) for v in values]


def _shells_of(values: list[float | None] | None) -> dict[str, float | None] | None:
    """[overall, inner, outer] -> {"overall": …, "inner": …, "outer": …}; None if absent."""
    if values is None:
        return None
    return {name: (values[i] if i < len(values) else None) for i, name in enumerate(SHELL_NAMES)}


def _group(text: str, pattern: str) -> str | None:
    match = re.search(pattern, text, re.M)
    return match[1] if match else None


def _value(text: str, pattern: str, path: Path, what: str) -> float | None:
    return to_float(_group(text, pattern), path, what)


def _numbers(text: str, pattern: str, path: Path, count: int) -> list[float | None] | None:
    """``count`` numbers on the line matched by ``pattern`` (group 1), or None."""
    found = _group(text, pattern)
    if found is None:
        return None
    numbers = found.split()
    if len(numbers) != count:
        raise fail(path, f"expected {count} numbers, got {found.strip()!r}")
    return [to_float(n, path, "unit cell") for n in numbers]


def _estimates(block: str, path: Path) -> dict[str, float | None]:
    """Overall resolution-limit estimates from CC(1/2) and from Mn(I/sd)."""
    start = block.find("Estimates of resolution limits: overall")
    section = block[start:] if start >= 0 else ""
    cc = re.search(rf"CC\(1/2\)\s*>\s*({_NUM}):\s*limit\s*=\s*({_NUM})A", section)
    isd = re.search(rf"Mn\(I/sd\)\s*>\s*({_NUM}):\s*limit\s*=\s*({_NUM})A", section)
    return {
        "cc_half_threshold": to_float(cc[1], path, "CC(1/2) threshold") if cc else None,
        "cc_half_limit": to_float(cc[2], path, "CC(1/2) limit") if cc else None,
        "i_over_sigma_threshold": to_float(isd[1], path, "I/sd threshold") if isd else None,
        "i_over_sigma_limit": to_float(isd[2], path, "I/sd limit") if isd else None,
    }
