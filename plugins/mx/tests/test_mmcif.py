"""The deposition mmCIF block (mmcat_mx.mmcif), written with gemmi and read back with gemmi.

Datasets are built from the real ispyb.xml (xia2, DLS i04-1, 2014) and autoPROC.xml (ESRF
ID30A1, 2024) parse results, and from a real merge of XDS_ASCII.HKL. Values not in those files
(xia2's wavelength 0.92 and detector "dectris", the collection date) are those of the same run's
xia2.txt and MTZ history (shared reference README §2.4, §2.7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import gemmi
import pytest
from django.apps import apps
from django.core.files import File

import mmcat_mx
from mmcat.dictionary import set_parameters
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, Dataset, DatasetLink, ProcessingJob
from mmcat.testing import BeamlineFactory, DatasetFactory, FacilityFactory, SessionFactory
from mmcat_mx.parsers import autoproc_xml

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]
DATA = Path(mmcat_mx.__file__).parent / "realdata"
SHELL_NAMES = {"mean_i_over_sigma": "i_over_sigma", "r_meas_all": "r_meas", "r_pim_all": "r_pim"}
SHELL_COLUMNS = ("resolution_low", "resolution_high", "n_observations", "n_unique", "r_merge",
                 "r_meas", "r_pim", "i_over_sigma", "cc_half", "completeness", "multiplicity")


def processed_from(xml: str, raws: list[Dataset], pipeline: str) -> Dataset:
    """A processed dataset as the ingest makes it, with its ProcessingRun and ShellStatistics,
    from the real AutoProcContainer XML's parse result."""
    from mmcat_mx.models import ProcessingRun, ShellStatistics
    from mmcat_mx.results import processing_parameters

    result = autoproc_xml.parse(DATA / xml)
    processed = Dataset.objects.create(session=raws[0].session, technique="mx",
                                       kind="processed", name=f"{raws[0].name} {pipeline}")
    set_parameters(processed, processing_parameters(result))
    for raw in raws:
        DatasetLink.objects.create(output=processed, input=raw, role="raw data")
    cell = result["cell"]
    run = ProcessingRun.objects.create(
        dataset=processed, pipeline=pipeline, program=result["program"]["programs"],
        version=result["program"]["version"] or "", status="success",
        space_group=result["space_group"],
        **{f"cell_{axis}": value for axis, value in cell.items()})
    for shell, values in result["shells"].items():
        row = {SHELL_NAMES.get(key, key): value for key, value in values.items()}
        ShellStatistics.objects.create(run=run, shell=shell,
                                       **{k: row.get(k) for k in SHELL_COLUMNS})
    return processed


@pytest.fixture
def xia2_dataset():
    diamond = FacilityFactory(name="Diamond Light Source", short_name="dls")
    session = SessionFactory(beamline=BeamlineFactory(name="i04-1", facility=diamond))
    raw = DatasetFactory(session=session, technique="mx", name="BAZ2BA-x828_1",
                         start_time=datetime(2014, 5, 15, 3, 0, tzinfo=UTC))
    set_parameters(raw, {"wavelength": 0.92, "detector": "dectris"})
    return processed_from("ispyb.xml", [raw], "xia2 3dii")


@pytest.fixture
def autoproc_dataset():
    esrf = FacilityFactory(name="ESRF", short_name="esrf")
    session = SessionFactory(beamline=BeamlineFactory(name="ID30A-1", facility=esrf))
    sweeps = [DatasetFactory(session=session, technique="mx",
                             name=f"INS-Helical_test1_1_{n}",
                             start_time=datetime(2024, 2, 21, 13, n, tzinfo=UTC))
              for n in (7, 9, 11, 13)]
    return processed_from("autoPROC.xml", sweeps, "autoPROC")


def read_back(dataset) -> gemmi.cif.Block:
    from mmcat_mx.mmcif import deposition_cif

    doc = gemmi.cif.read_string(deposition_cif(dataset))
    assert len(doc) == 1
    return doc.sole_block()


def value(block, tag):
    raw = block.find_value(tag)
    assert raw is not None, tag
    return gemmi.cif.as_string(raw)


def number(block, tag):
    return gemmi.cif.as_number(block.find_value(tag))


def table(block, category):
    return block.get_mmcif_category(category)


def test_the_xia2_dataset_gives_the_data_collection_block(xia2_dataset):
    block = read_back(xia2_dataset)
    assert block.name == "BAZ2BA-x828_1_xia2_3dii"
    assert {"_diffrn.", "_diffrn_radiation.", "_diffrn_radiation_wavelength.",
            "_diffrn_source.", "_diffrn_detector.", "_reflns.", "_reflns_shell.", "_cell.",
            "_symmetry.", "_space_group.", "_software."} <= set(
        block.get_mmcif_category_names())
    # _reflns: the overall shell of ispyb.xml
    assert number(block, "_reflns.d_resolution_high") == 1.9
    assert number(block, "_reflns.d_resolution_low") == 42.66
    assert value(block, "_reflns.number_obs") == "18787"
    assert value(block, "_reflns.pdbx_number_measured_all") == "125167"
    assert number(block, "_reflns.percent_possible_obs") == 99.9
    assert number(block, "_reflns.pdbx_Rmerge_I_obs") == 0.048
    assert number(block, "_reflns.pdbx_Rrim_I_all") == 0.057
    assert number(block, "_reflns.pdbx_Rpim_I_all") == 0.022
    assert number(block, "_reflns.pdbx_netI_over_sigmaI") == 19.3
    assert number(block, "_reflns.pdbx_redundancy") == 6.7
    assert block.find_value("_reflns.pdbx_CC_half") == "?"  # xia2 0.3.6 wrote no ccHalf
    # _reflns_shell: inner then outer
    shells = table(block, "_reflns_shell.")
    assert shells["d_res_high"] == ["8.50", "1.90"]
    assert shells["d_res_low"] == ["42.66", "1.95"]
    assert shells["number_unique_obs"] == ["247", "1388"]
    assert shells["number_measured_all"] == ["1512", "9679"]
    assert shells["Rmerge_I_obs"] == ["0.028", "0.648"]
    assert shells["pdbx_Rrim_I_all"] == ["0.034", "0.767"]
    assert shells["pdbx_Rpim_I_all"] == ["0.013", "0.288"]
    assert shells["meanI_over_sigI_obs"] == ["55.0", "2.6"]
    assert shells["percent_possible_all"] == ["99.2", "99.9"]
    assert shells["pdbx_redundancy"] == ["6.1", "7.0"]
    # cell and symmetry
    assert number(block, "_cell.length_a") == pytest.approx(83.090)
    assert number(block, "_cell.length_c") == pytest.approx(57.950)
    assert number(block, "_cell.angle_beta") == 90
    assert value(block, "_symmetry.space_group_name_H-M") == "C 2 2 21"
    assert value(block, "_symmetry.Int_Tables_number") == "20"
    assert value(block, "_space_group.crystal_system") == "orthorhombic"
    # the collection: raw parameters, session's beamline and facility
    assert number(block, "_diffrn_radiation_wavelength.wavelength") == 0.92
    assert value(block, "_diffrn_radiation.pdbx_diffrn_protocol") == "SINGLE WAVELENGTH"
    assert value(block, "_diffrn_source.source") == "SYNCHROTRON"
    assert value(block, "_diffrn_source.pdbx_synchrotron_site") == "Diamond Light Source"
    assert value(block, "_diffrn_source.pdbx_synchrotron_beamline") == "i04-1"
    assert value(block, "_diffrn_source.type") == "Diamond Light Source BEAMLINE i04-1"
    assert value(block, "_diffrn_detector.detector") == "dectris"
    assert value(block, "_diffrn_detector.pdbx_collection_date") == "2014-05-15"
    software = table(block, "_software.")
    assert software["name"] == ["xia2", "xia2"]
    assert software["classification"] == ["data reduction", "data scaling"]
    assert software["version"] == [None, None]  # '?': xia2's version is not in ispyb.xml


def test_the_autoproc_dataset_has_cc_half_wavelength_and_version(autoproc_dataset):
    block = read_back(autoproc_dataset)
    assert number(block, "_reflns.pdbx_CC_half") == 0.968
    assert number(block, "_reflns.pdbx_Rmerge_I_obs") == 0.513
    assert number(block, "_reflns.d_resolution_high") == 2.2  # 2.199, written to 0.01 Å
    assert value(block, "_reflns.number_obs") == "64583"
    assert table(block, "_reflns_shell.")["pdbx_CC_half"] == ["0.962", "0.330"]
    assert number(block, "_diffrn_radiation_wavelength.wavelength") == 0.96546
    assert value(block, "_symmetry.space_group_name_H-M") == "P 3 2 1"
    assert value(block, "_space_group.IT_number") == "150"
    assert value(block, "_space_group.crystal_system") == "trigonal"
    assert number(block, "_cell.angle_gamma") == 120
    assert value(block, "_diffrn_source.pdbx_synchrotron_site") == "ESRF"
    assert value(block, "_diffrn_detector.pdbx_collection_date") == "2024-02-21"
    assert block.find_value("_diffrn_detector.detector") == "?"  # not in the files
    software = table(block, "_software.")
    assert software["name"][0] == "autoPROC" and software["version"][0] == "1.1.7"


def test_a_merged_dataset_names_gemmi_and_its_own_statistics(session):
    from mmcat_mx.models import ShellStatistics

    raw = DatasetFactory(session=session, technique="mx", name="TIR_1")
    set_parameters(raw, {"wavelength": 0.97628, "detector": "ADSC"})
    with (DATA / "XDS_ASCII.HKL").open("rb") as f:
        Attachment.objects.create(session=session, dataset=raw, name="XDS_ASCII.HKL",
                                  file=File(f, "XDS_ASCII.HKL"))
    raw2 = DatasetFactory(session=session, technique="mx", name="TIR_2")
    set_parameters(raw2, {"wavelength": 0.97628, "detector": "ADSC"})
    for dataset in (raw, raw2):
        with (DATA / "XDS_ASCII.HKL").open("rb") as f:
            Attachment.objects.get_or_create(session=session, dataset=dataset,
                                             name="XDS_ASCII.HKL",
                                             defaults={"file": File(f, "XDS_ASCII.HKL")})
    job = ProcessingJob.objects.create(session=session, task="mx.merge",
                                       parameters={"name": "TIR merged"})
    job.inputs.add(raw, raw2)
    job_tasks()["mx.merge"].apply(args=[job.pk])
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    merged = Dataset.objects.get(pk=job.result["dataset"])

    block = read_back(merged)
    overall = ShellStatistics.objects.get(run__dataset=merged, shell="overall")
    assert merged.kind == "merged"
    assert value(block, "_reflns.number_obs") == str(overall.n_unique) == "3878"
    assert number(block, "_reflns.pdbx_Rmerge_I_obs") == round(overall.r_merge, 3)
    assert number(block, "_reflns.pdbx_CC_half") == round(overall.cc_half, 3)
    assert number(block, "_reflns.percent_possible_obs") == round(overall.completeness, 1)
    assert number(block, "_reflns.d_resolution_high") == 2.70
    assert table(block, "_reflns_shell.")["d_res_high"][1] == "2.70"
    assert value(block, "_symmetry.space_group_name_H-M") == "P 2 2 2"
    assert number(block, "_diffrn_radiation_wavelength.wavelength") == 0.97628
    assert value(block, "_diffrn_detector.detector") == "ADSC"
    software = table(block, "_software.")
    assert software["name"] == ["gemmi"]
    assert software["version"] == [gemmi.__version__]
    assert software["classification"] == ["data scaling"]


def test_a_dataset_with_parameters_only_still_gets_its_reflns(session):
    from mmcat_mx.mmcif import cif_filename, deposition_cif
    from mmcat_mx.results import processing_parameters

    processed = DatasetFactory(session=session, technique="mx", kind="processed",
                               name="x828 xia2 job 4")
    set_parameters(processed, processing_parameters(autoproc_xml.parse(DATA / "ispyb.xml")))
    block = gemmi.cif.read_string(deposition_cif(processed)).sole_block()
    assert number(block, "_reflns.pdbx_Rmerge_I_obs") == 0.048
    assert value(block, "_symmetry.space_group_name_H-M") == "C 2 2 21"
    assert block.find_mmcif_category("_reflns_shell.") is None or not len(
        block.find_mmcif_category("_reflns_shell."))
    assert cif_filename(processed) == "x828_xia2_job_4_data_collection.cif"
