"""CBF header parser on the real DLS I19 Pilatus image (README §2.12), whose miniCBF header and
imgCIF categories disagree. Damaged copies are made from it at test time in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import cbf

DATA = Path(mmcat_mx.__file__).parent / "realdata"
CBF = DATA / "phi_scan_001.cbf"


@pytest.fixture(scope="module")
def result():
    return cbf.parse(CBF)


def test_detect():
    assert cbf.detect(CBF)
    assert not cbf.detect(DATA / "nt5073v16_xBAZ2BAx8281_free.mtz")
    assert not cbf.detect(DATA / "XDS_ASCII.HKL")


def test_file_layout(result):
    assert result["format"] == "cbf_header"
    assert result["cbf_version"] == "1.5"
    assert result["data_block"] == "img2641_00019"
    assert result["header_convention"] == "PILATUS_1.2"
    assert result["image_size"] == [487, 619]
    assert result["element_type"] == "signed 32-bit integer"
    assert result["compression"] == "CBF_BYTE_OFFSET"
    assert result["binary_size"] == 301453
    assert result["imgcif"]["byte_order"] == "little_endian"


def test_mini_cbf_header_as_written(result):
    mini = result["mini_cbf"]
    assert (mini["detector"], mini["serial_number"], mini["site"]) == (
        "PILATUS 300K", "3-0104", "Diamond")
    assert mini["timestamp"] == "2011-07-14T12:45:19.719"
    assert (mini["pixel_size_x_m"], mini["sensor_thickness_m"]) == (172e-6, 0.000320)
    assert (mini["exposure_time"], mini["exposure_period"]) == (0.5, 0.505)
    assert (mini["count_cutoff"], mini["threshold_ev"]) == (1541621, 9000.0)
    assert mini["wavelength"] == 0.68937
    assert mini["detector_distance_m"] == 0.1
    assert (mini["beam_x"], mini["beam_y"]) == (2000.0, 2000.0)
    assert (mini["start_angle"], mini["angle_increment"]) == (9.5, 0.5)
    assert mini["detector_2theta"] == 20.0
    assert (mini["alpha"], mini["kappa"], mini["phi"], mini["chi"]) == (50.0, 30.0, 20.0, -10.0)
    assert mini["image_path"] == "/dls/i19/data/2011/cm2067-3/14072011/S/"


def test_imgcif_categories(result):
    img = result["imgcif"]
    assert img["sample_detector_distance"] == 105.0
    axes = {a["axis"]: a for a in img["scan_axes"]}
    assert axes["GONIOMETER_OMEGA"]["angle_start"] == -10.0
    assert axes["GONIOMETER_KAPPA"]["angle_start"] == 30.0
    assert (axes["GONIOMETER_PHI"]["angle_start"], axes["GONIOMETER_PHI"]["angle_range"],
            axes["GONIOMETER_PHI"]["angle_increment"]) == (20.0, 0.5, 0.5)
    assert axes["DETECTOR_2THETA"]["angle_start"] == 20.0
    assert axes["DETECTOR_Z"]["displacement_start"] == 105.0
    assert img["scan_axis"] == "GONIOMETER_PHI"
    assert img["image_size"] == [487, 619]
    assert img["encoding"] == "signed 32-bit integer"


def test_imgcif_wins_and_both_values_are_reported(result):
    assert result["detector_distance"] == 105.0
    assert result["oscillation_start"] == 20.0
    assert result["oscillation_range"] == 0.5
    assert result["oscillation_axis"] == "GONIOMETER_PHI"
    assert result["wavelength"] == 0.68937
    assert result["exposure_time"] == 0.5
    assert result["conflicts"] == [
        {"key": "detector_distance", "mini_cbf": pytest.approx(100.0), "imgcif": 105.0,
         "used": "imgcif"},
        {"key": "oscillation_start", "mini_cbf": 9.5, "imgcif": 20.0, "used": "imgcif"},
    ]
    assert result["beam_centre"] == [2000.0, 2000.0]
    assert result["pixel_size"] == [0.172, 0.172]


def test_parameters_for_a_collection(result):
    assert result["parameters"] == {
        "wavelength": 0.68937, "exposure_time": 0.5, "oscillation_start": 20.0,
        "oscillation_range": 0.5, "detector_distance": 105.0, "transmission": 100.0,
        "detector": "PILATUS 300K, S/N 3-0104"}
    json.dumps(result)


def test_mini_cbf_only_file_uses_the_mini_header(tmp_path):
    """A Pilatus miniCBF without imgCIF categories (derived: the categories are cut out)."""
    data = CBF.read_bytes()
    start = data.index(b"_diffrn.id")
    end = data.index(b"_array_data.data")
    path = tmp_path / "mini.cbf"
    path.write_bytes(data[:start] + data[end:])
    result = cbf.parse(path)
    assert result["detector_distance"] == pytest.approx(100.0)
    assert result["oscillation_start"] == 9.5
    assert result["conflicts"] == []


@pytest.mark.parametrize("keep", [2000, 20000, 300000])
def test_truncated_image_is_a_clear_error(tmp_path, keep):
    path = tmp_path / CBF.name
    path.write_bytes(CBF.read_bytes()[:keep])
    with pytest.raises(ParseError, match=f"{CBF.name}: "):
        cbf.parse(path)


def test_not_a_cbf():
    with pytest.raises(ParseError, match="not a CBF image"):
        cbf.parse(DATA / "xia2.txt")
