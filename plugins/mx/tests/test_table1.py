"""Table 1 (mmcat_mx.table1) for two real datasets side by side: xia2 (ispyb.xml, DLS i04-1) and
autoPROC (autoPROC.xml, ESRF ID30A1); values are those of the files (README §2.1, §2.3)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps

import mmcat_mx
from mmcat.dictionary import set_parameters
from mmcat.models import Dataset, DatasetLink
from mmcat.testing import BeamlineFactory, DatasetFactory, FacilityFactory, SessionFactory
from mmcat_mx.parsers import autoproc_xml

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]
DATA = Path(mmcat_mx.__file__).parent / "realdata"
ALIASES = {"mean_i_over_sigma": "i_over_sigma", "r_meas_all": "r_meas", "r_pim_all": "r_pim"}
COLUMNS = ("resolution_low", "resolution_high", "n_observations", "n_unique", "r_merge",
           "r_meas", "r_pim", "i_over_sigma", "cc_half", "completeness", "multiplicity")


def processed(xml, name, facility, beamline, wavelength):
    from mmcat_mx.models import ProcessingRun, ShellStatistics
    from mmcat_mx.results import processing_parameters

    session = SessionFactory(beamline=BeamlineFactory(
        name=beamline, facility=FacilityFactory(name=facility, short_name=facility.lower()[:8])))
    raw = DatasetFactory(session=session, technique="mx", name=f"{name}_raw",
                         start_time=datetime(2020, 1, 1, tzinfo=UTC))
    set_parameters(raw, {"wavelength": wavelength})
    result = autoproc_xml.parse(DATA / xml)
    dataset = Dataset.objects.create(session=session, technique="mx", kind="processed",
                                     name=name)
    set_parameters(dataset, processing_parameters(result))
    DatasetLink.objects.create(output=dataset, input=raw)
    run = ProcessingRun.objects.create(
        dataset=dataset, pipeline=result["program"]["name"], status="success",
        space_group=result["space_group"],
        **{f"cell_{axis}": value for axis, value in result["cell"].items()})
    for shell, values in result["shells"].items():
        row = {ALIASES.get(key, key): value for key, value in values.items()}
        ShellStatistics.objects.create(run=run, shell=shell, **{k: row.get(k) for k in COLUMNS})
    return dataset


@pytest.fixture
def datasets():
    return [processed("ispyb.xml", "BAZ2BA_x828 xia2", "Diamond", "i04-1", 0.92),
            processed("autoPROC.xml", "INS_Helical autoPROC", "ESRF", "ID30A-1", 0.96546)]


def test_rows_put_the_two_datasets_side_by_side_overall_and_outer(datasets):
    from mmcat_mx.table1 import table1_rows

    rows = dict(table1_rows(datasets))
    assert rows["Dataset"] == ["BAZ2BA_x828 xia2", "INS_Helical autoPROC"]
    assert rows["Data collection"] == ["", ""]
    assert rows["Beamline"] == ["Diamond i04-1", "ESRF ID30A-1"]
    assert rows["Wavelength (Å)"] == ["0.9200", "0.9655"]
    assert rows["Space group"] == ["C 2 2 21", "P 3 2 1"]
    assert rows["a, b, c (Å)"] == ["83.09, 96.79, 57.95", "148.47, 148.47, 100.65"]
    assert rows["α, β, γ (°)"] == ["90.0, 90.0, 90.0", "90.0, 90.0, 120.0"]
    assert rows["Resolution range (Å)"] == ["42.66–1.90 (1.95–1.90)",
                                            "100.65–2.20 (2.24–2.20)"]
    assert rows["Total reflections"] == ["125167 (9679)", "530047 (8522)"]
    assert rows["Unique reflections"] == ["18787 (1388)", "64583 (3076)"]
    assert rows["Multiplicity"] == ["6.7 (7.0)", "8.2 (2.8)"]
    assert rows["Completeness (%)"] == ["99.9 (99.9)", "98.9 (94.4)"]
    assert rows["Mean I/σ(I)"] == ["19.3 (2.6)", "8.7 (1.4)"]
    assert rows["Rmerge"] == ["0.048 (0.648)", "0.513 (1.265)"]
    assert rows["Rmeas"] == ["0.057 (0.767)", "0.543 (1.564)"]
    assert rows["Rpim"] == ["0.022 (0.288)", "0.174 (0.902)"]
    assert rows["CC½"] == ["", "0.968 (0.330)"]  # xia2 0.3.6 wrote no CC½


def test_csv_reads_back_with_the_csv_module(datasets):
    from mmcat_mx.table1 import NOTE, table1_csv

    rows = list(csv.reader(io.StringIO(table1_csv(datasets))))
    assert rows[0] == ["", "BAZ2BA_x828 xia2", "INS_Helical autoPROC"]
    by_label = {row[0]: row[1:] for row in rows[1:]}
    assert by_label["Rmerge"] == ["0.048 (0.648)", "0.513 (1.265)"]
    assert by_label["a, b, c (Å)"] == ["83.09, 96.79, 57.95", "148.47, 148.47, 100.65"]
    assert rows[-1] == [NOTE]


def test_latex_is_one_escaped_tabular(datasets):
    from mmcat_mx.table1 import latex_escape, table1_latex

    tex = table1_latex(datasets)
    lines = tex.splitlines()
    assert lines[0] == r"\begin{tabular}{lcc}" and lines[-1] == r"\end{tabular}"
    assert r" & BAZ2BA\_x828 xia2 & INS\_Helical autoPROC \\" in lines
    assert r"$R_\mathrm{merge}$ & 0.048 (0.648) & 0.513 (1.265) \\" in lines
    assert r"Resolution range (\AA{}) & 42.66--1.90 (1.95--1.90) & 100.65--2.20 (2.24--2.20) \\" \
        in lines
    assert r"\textbf{Data collection} & & \\" in lines
    assert not any(char in tex for char in "Åαβγσ½–°")  # spelled in LaTeX
    assert not re.search(r"(?<!\\)[_#%]", re.sub(r"\$[^$]*\$", "", tex))  # escaped, math aside
    assert tex.count("{") == tex.count("}")
    for row in lines[4:-3]:  # every row has one cell per dataset plus the label
        assert row.replace(r"\&", "").count("&") == 2, row
    assert latex_escape("50% & R_{free} #1 ~ ^ \\") == (
        r"50\% \& R\_\{free\} \#1 \textasciitilde{} \textasciicircum{} \textbackslash{}")


def test_a_single_dataset_without_shells_still_renders(session):
    from mmcat_mx.table1 import table1_csv, table1_latex, table1_rows

    dataset = DatasetFactory(session=session, technique="mx", kind="processed", name="bare")
    set_parameters(dataset, {"r_merge": 0.05, "space_group": "P212121"})
    rows = dict(table1_rows([dataset]))
    assert rows["Rmerge"] == ["0.050"]  # no outer shell: overall alone
    assert rows["Space group"] == ["P 21 21 21"]
    assert rows["Resolution range (Å)"] == [""]
    assert "bare" in table1_csv([dataset]) and r"\begin{tabular}{lc}" in table1_latex([dataset])
