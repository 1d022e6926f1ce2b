"""Every MX parser is registered through ``mmcat_ingest_parsers`` and automatic detection picks
the right one for each real file (realdata/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps

import mmcat_mx
from mmcat.parsing import parse_file, parsers

pytestmark = pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                                reason="the mx plugin is not enabled (MMCAT_PLUGINS)")
DATA = Path(mmcat_mx.__file__).parent / "realdata"
SHARED = Path(__file__).resolve().parents[3].parent / "shared/reference/realdata"

EXPECTED = {
    "autoPROC.xml": "ispyb_autoproc_xml",
    "ispyb.xml": "ispyb_autoproc_xml",
    "CORRECT.LP": "xds_correct_lp",
    "nt5073v16_xBAZ2BAx8281_SAD_SWEEP1_INTEGRATE.log": "xds_integrate_lp",
    "XDS_ASCII.HKL": "xds_ascii_hkl",
    "nt5073v16_xBAZ2BAx8281_aimless.log": "aimless_log",
    "xia2.txt": "xia2_txt",
    "xia2-summary.dat": "xia2_summary_dat",
    "experiments_thaum_0500.json": "dials_experiment_list",
    "nt5073v16_xBAZ2BAx8281_free.mtz": "mtz",
    "phi_scan_001.cbf": "cbf_header",
}
NEW = ("xds_integrate_lp", "xds_ascii_hkl", "aimless_log", "xia2_txt", "xia2_summary_dat",
       "fast_dp_json", "dials_experiment_list", "mtz", "cbf_header", "nexus_nxmx")


def test_parsers_are_registered_for_mx():
    available = parsers()
    for name in NEW:
        assert available[name].technique == "mx"
        assert available[name].label


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_detection_picks_the_right_parser(filename):
    name, result = parse_file(DATA / filename)
    assert name == EXPECTED[filename]
    assert result["format"] == name


@pytest.mark.skipif(not (SHARED / "images/Therm_6_2.nxs").is_file(),
                    reason="shared reference data absent")
def test_detection_of_the_nexus_master():
    name, result = parse_file(SHARED / "images/Therm_6_2.nxs")
    assert name == "nexus_nxmx" and result["definition"] == "NXmx"


@pytest.mark.parametrize("name", ["aimless_log", "xia2_txt", "xia2_summary_dat"])
def test_processing_parsers_share_the_autoproc_keys(name):
    source = {v: k for k, v in EXPECTED.items()}[name]
    _, result = parse_file(DATA / source, parser=name)
    _, reference = parse_file(DATA / "ispyb.xml")
    for key in ("format", "program", "space_group", "cell", "wavelength", "shells"):
        assert key in result
    assert set(result["program"]) >= {"name", "version"}
    for shell in ("overall", "inner", "outer"):
        assert set(result["shells"][shell]) == set(reference["shells"][shell])
