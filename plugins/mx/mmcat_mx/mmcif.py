"""The data-collection block of a PDB deposition for a processed or merged MX dataset.

:func:`deposition_cif` writes, with ``gemmi.cif``, the categories a deposition and a paper's
Table 1 need: ``_diffrn``, ``_diffrn_radiation``, ``_diffrn_radiation_wavelength``,
``_diffrn_source``, ``_diffrn_detector``, ``_reflns``, ``_reflns_shell`` (inner and outer
shells), ``_cell``, ``_symmetry``, ``_space_group`` and ``_software``.

Values come from the dataset's :class:`~mmcat_mx.models.ProcessingRun` and its
:class:`~mmcat_mx.models.ShellStatistics` (falling back on the dataset's typed parameters for
the overall shell, symmetry and cell), and from the raw collections it was made from (followed
through the lineage): their wavelength, detector and start date, and the session's beamline and
facility. Unknown values are written as ``?``. :func:`summary` gathers the same values for
:mod:`mmcat_mx.table1`.
"""

from __future__ import annotations

import re
from typing import Any

import gemmi

from mmcat.dictionary import parameters_as_dict
from mmcat.models import Dataset

from .models import ProcessingRun

SHELL_FIELDS = ("resolution_low", "resolution_high", "n_observations", "n_unique", "r_merge",
                "r_meas", "r_pim", "i_over_sigma", "cc_half", "completeness", "multiplicity")
CELL_AXES = ("a", "b", "c", "alpha", "beta", "gamma")


def _params(dataset: Dataset) -> dict[str, Any]:
    return parameters_as_dict(dataset.parameters.select_related("type"))


def raw_inputs(dataset: Dataset) -> list[Dataset]:
    """The raw collections a dataset was made from, following the lineage upwards (a raw
    dataset is its own raw input), oldest first."""
    if dataset.kind == Dataset.Kind.RAW:
        return [dataset]
    seen, found, todo = {dataset.pk}, {}, [dataset]
    while todo:
        links = Dataset.objects.filter(output_links__output__in=todo).select_related(
            "session__beamline__facility").distinct()
        todo = []
        for parent in links:
            if parent.pk in seen:
                continue
            seen.add(parent.pk)
            if parent.kind == Dataset.Kind.RAW:
                found[parent.pk] = parent
            else:
                todo.append(parent)
    return sorted(found.values(), key=lambda d: (d.start_time is None, d.start_time, d.pk))


def _space_group(text: str | None) -> gemmi.SpaceGroup | None:
    if not text:
        return None
    try:
        return gemmi.find_spacegroup_by_name(text)
    except (RuntimeError, ValueError):
        return None


def split_program(text: str | None) -> tuple[str, str | None]:
    """``"autoPROC 1.1.7 (20240123 - …)"`` -> ``("autoPROC", "1.1.7")``; ``"xia2"`` ->
    ``("xia2", None)``."""
    text = (text or "").strip()
    match = re.match(r"(\S+)(?:\s+v?(\d[\w.\-]*))?", text)
    if not match:
        return text, None
    return match.group(1), match.group(2)


def summary(dataset: Dataset) -> dict[str, Any]:
    """What a deposition block and a Table 1 column need, from the ORM.

    ``{"name", "kind", "space_group" (gemmi.SpaceGroup or None), "cell" ({a..gamma} or None),
    "shells" ({"overall", "inner", "outer"} of ShellStatistics fields), "wavelengths",
    "detector", "beamline", "facility", "collection_date", "software" ([(name, version,
    classification)])}``.
    """
    params = _params(dataset)
    run = (ProcessingRun.objects.filter(dataset=dataset).prefetch_related("shells").first())
    shells: dict[str, dict[str, Any]] = {}
    if run is not None:
        for row in run.shells.all():
            shells[row.shell] = {f: getattr(row, f) for f in SHELL_FIELDS}
    overall = shells.setdefault("overall", {})
    for field in SHELL_FIELDS:
        if overall.get(field) is None and params.get(field) is not None:
            overall[field] = params[field]

    space_group = _space_group(run.space_group if run else None) or _space_group(
        params.get("space_group"))
    cell = None
    if run is not None and run.cell_a is not None:
        cell = {axis: getattr(run, f"cell_{axis}") for axis in CELL_AXES}
    elif params.get("cell_a") is not None:
        cell = {axis: params.get(f"cell_{axis}") for axis in CELL_AXES}

    raws = raw_inputs(dataset)
    raw_params = [_params(raw) for raw in raws]
    wavelengths = []  # the dataset's own, else the distinct ones of its raw collections
    for value in ([params["wavelength"]] if params.get("wavelength") is not None
                  else [p.get("wavelength") for p in raw_params]):
        if value is not None and not any(abs(value - w) < 1e-4 for w in wavelengths):
            wavelengths.append(value)
    detectors = sorted({p["detector"] for p in raw_params if p.get("detector")})
    beamlines = {raw.session.beamline for raw in raws} or {dataset.session.beamline}
    beamline = sorted(beamlines, key=lambda b: b.pk)[0]
    dates = sorted(raw.start_time for raw in raws if raw.start_time)

    software = []
    if dataset.kind == Dataset.Kind.MERGED:
        for parent in Dataset.objects.filter(output_links__output=dataset).exclude(
                kind=Dataset.Kind.RAW):
            name, version = _program_of(parent)
            if name:
                software.append((name, version, "data reduction"))
        name, version = _program_of(dataset, run)
        if name:
            software.append((name, version, "data scaling"))
    else:
        name, version = _program_of(dataset, run)
        if name:
            software += [(name, version, "data reduction"), (name, version, "data scaling")]

    return {
        "name": dataset.name,
        "kind": dataset.kind,
        "space_group": space_group,
        "cell": cell,
        "shells": shells,
        "wavelengths": wavelengths,
        "detector": ", ".join(detectors) or None,
        "beamline": beamline.name if beamline else None,
        "facility": beamline.facility.name if beamline else None,
        "collection_date": dates[0].date().isoformat() if dates else None,
        "software": list(dict.fromkeys(software)),
        "anomalous": bool(run.anomalous) if run else False,
    }


def _program_of(dataset: Dataset, run: ProcessingRun | None = None) -> tuple[str, str | None]:
    run = run or ProcessingRun.objects.filter(dataset=dataset).first()
    if run is not None and run.program:
        name, version = split_program(run.program)
        return name, run.version or version
    program = _params(dataset).get("program")
    if program and program.startswith("mmCAT merge (") and program.endswith(")"):
        program = program[len("mmCAT merge ("):-1]
    return split_program(program) if program else ("", None)


def _f(value, digits: int) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _i(value) -> str | None:
    return None if value is None else str(int(value))


def block_name(dataset: Dataset) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name).strip("_")
    return name or f"dataset_{dataset.pk}"


def deposition_document(dataset: Dataset) -> gemmi.cif.Document:
    """The data-collection block of ``dataset`` as a ``gemmi.cif.Document``."""
    info = summary(dataset)
    entry = block_name(dataset)
    doc = gemmi.cif.Document()
    block = doc.add_new_block(entry)
    block.set_pair("_entry.id", gemmi.cif.quote(entry))

    block.set_pairs("_diffrn.", {"id": "1", "crystal_id": "1"})
    wavelengths = info["wavelengths"]
    block.set_pairs("_diffrn_radiation.", {
        "diffrn_id": "1", "wavelength_id": "1",
        "pdbx_monochromatic_or_laue_m_l": "M",
        "pdbx_diffrn_protocol": "MAD" if len(wavelengths) > 1 else "SINGLE WAVELENGTH",
    })
    if wavelengths:
        block.set_mmcif_category("_diffrn_radiation_wavelength.", {
            "id": [str(n) for n in range(1, len(wavelengths) + 1)],
            "wavelength": [f"{w:.5f}".rstrip("0").rstrip(".") for w in wavelengths],
            "wt": ["1.0"] * len(wavelengths),
        })
    facility, beamline = info["facility"], info["beamline"]
    block.set_pairs("_diffrn_source.", {
        "diffrn_id": "1",
        "source": "SYNCHROTRON",
        "type": f"{facility} BEAMLINE {beamline}" if facility and beamline else None,
        "pdbx_synchrotron_site": facility,
        "pdbx_synchrotron_beamline": beamline,
        "pdbx_wavelength_list": ", ".join(
            f"{w:.5f}".rstrip("0").rstrip(".") for w in wavelengths) or None,
    })
    block.set_pairs("_diffrn_detector.", {
        "diffrn_id": "1", "detector": info["detector"],
        "pdbx_collection_date": info["collection_date"],
    })

    overall = info["shells"].get("overall", {})
    block.set_pairs("_reflns.", {
        "entry_id": entry, "pdbx_ordinal": "1", "pdbx_diffrn_id": "1",
        "d_resolution_high": _f(overall.get("resolution_high"), 2),
        "d_resolution_low": _f(overall.get("resolution_low"), 2),
        "number_obs": _i(overall.get("n_unique")),
        "pdbx_number_measured_all": _i(overall.get("n_observations")),
        "percent_possible_obs": _f(overall.get("completeness"), 1),
        "pdbx_Rmerge_I_obs": _f(overall.get("r_merge"), 3),
        "pdbx_Rrim_I_all": _f(overall.get("r_meas"), 3),
        "pdbx_Rpim_I_all": _f(overall.get("r_pim"), 3),
        "pdbx_netI_over_sigmaI": _f(overall.get("i_over_sigma"), 1),
        "pdbx_redundancy": _f(overall.get("multiplicity"), 1),
        "pdbx_CC_half": _f(overall.get("cc_half"), 3),
    })
    shells = [info["shells"][name] for name in ("inner", "outer") if name in info["shells"]]
    if shells:
        block.set_mmcif_category("_reflns_shell.", {
            "pdbx_ordinal": [str(n) for n in range(1, len(shells) + 1)],
            "pdbx_diffrn_id": ["1"] * len(shells),
            "d_res_high": [_f(s.get("resolution_high"), 2) for s in shells],
            "d_res_low": [_f(s.get("resolution_low"), 2) for s in shells],
            "number_measured_all": [_i(s.get("n_observations")) for s in shells],
            "number_unique_obs": [_i(s.get("n_unique")) for s in shells],
            "percent_possible_all": [_f(s.get("completeness"), 1) for s in shells],
            "Rmerge_I_obs": [_f(s.get("r_merge"), 3) for s in shells],
            "pdbx_Rrim_I_all": [_f(s.get("r_meas"), 3) for s in shells],
            "pdbx_Rpim_I_all": [_f(s.get("r_pim"), 3) for s in shells],
            "meanI_over_sigI_obs": [_f(s.get("i_over_sigma"), 1) for s in shells],
            "pdbx_redundancy": [_f(s.get("multiplicity"), 1) for s in shells],
            "pdbx_CC_half": [_f(s.get("cc_half"), 3) for s in shells],
        })

    cell = info["cell"] or {}
    block.set_pairs("_cell.", {
        "entry_id": entry,
        **{f"length_{axis}": _f(cell.get(axis), 3) for axis in "abc"},
        **{f"angle_{axis}": _f(cell.get(axis), 2) for axis in ("alpha", "beta", "gamma")},
    })
    sg = info["space_group"]
    block.set_pairs("_symmetry.", {
        "entry_id": entry,
        "space_group_name_H-M": sg.hm if sg else None,
        "Int_Tables_number": str(sg.number) if sg else None,
    })
    block.set_pairs("_space_group.", {
        "id": "1",
        "name_H-M_alt": sg.hm if sg else None,
        "IT_number": str(sg.number) if sg else None,
        "crystal_system": sg.crystal_system_str() if sg else None,
    })
    software = info["software"]
    if software:
        block.set_mmcif_category("_software.", {
            "pdbx_ordinal": [str(n) for n in range(1, len(software) + 1)],
            "name": [name for name, _, _ in software],
            "version": [version for _, version, _ in software],
            "classification": [classification for _, _, classification in software],
        })
    return doc


def deposition_cif(dataset: Dataset) -> str:
    """The mmCIF text of the data-collection block of a processed or merged dataset."""
    return deposition_document(dataset).as_string(gemmi.cif.Style.Pdbx)


def cif_filename(dataset: Dataset) -> str:
    """A file name for the download: ``<dataset name>_data_collection.cif``."""
    return f"{block_name(dataset)}_data_collection.cif"
