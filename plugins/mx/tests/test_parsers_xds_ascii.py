"""XDS_ASCII.HKL header parser on the real EDNA test file (README §2.9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import xds_ascii

DATA = Path(mmcat_mx.__file__).parent / "realdata"
HKL = DATA / "XDS_ASCII.HKL"


@pytest.fixture(scope="module")
def result():
    return xds_ascii.parse(HKL)


def test_detect():
    assert xds_ascii.detect(HKL)
    assert not xds_ascii.detect(DATA / "CORRECT.LP")


def test_header(result):
    assert result["format"] == "xds_ascii_hkl"
    assert (result["merge"], result["friedels_law"]) == (False, True)
    assert result["program"] == {"name": "XDS", "step": "CORRECT", "version": "March 15, 2012",
                                 "build": None}
    assert result["date"] == "1-Aug-2012"
    assert (result["name_template"], result["image_format"]) == ("TIRdelta_25_4_????.img",
                                                                 "SMV")
    assert result["data_range"] == [1, 130]
    assert result["oscillation_range"] == pytest.approx(0.7)
    assert result["starting_angle"] == pytest.approx(75.0)
    assert result["resolution_range"] == [60.0, 2.702]
    assert result["space_group_number"] == 16
    assert result["space_group"] == "P 2 2 2"
    assert result["cell"] == {"a": 32.224, "b": 36.554, "c": 110.106,
                              "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["wavelength"] == pytest.approx(0.976280)
    assert result["detector"] == "ADSC"
    assert result["detector_distance"] == pytest.approx(372.572)


def test_several_pairs_on_one_line(result):
    assert (result["nx"], result["ny"]) == (3072, 3072)
    assert (result["qx"], result["qy"]) == (0.1026, 0.1026)
    assert (result["orgx"], result["orgy"]) == (1546.40, 1557.85)
    assert result["header"]["OUTPUT_FILE"] == "XDS_ASCII.HKL"


def test_items_and_records(result):
    assert result["n_items"] == 12
    assert result["items"]["H"] == 1 and result["items"]["PSI"] == 12
    assert result["items"]["SIGMA(IOBS)"] == 5
    assert result["n_records"] == 13395
    # 47 lines up to !END_OF_HEADER; the README's "48 header lines" counts every '!' line,
    # which includes the closing !END_OF_DATA.
    assert result["n_header_lines"] == 47
    json.dumps(result)


def test_truncated_file_is_a_clear_error(tmp_path):
    data = HKL.read_bytes()
    cut = tmp_path / HKL.name
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="XDS_ASCII.HKL: "):
        xds_ascii.parse(cut)
    cut.write_bytes(data[: data.index(b"!END_OF_DATA")])
    with pytest.raises(ParseError, match="truncated: no '!END_OF_DATA'"):
        xds_ascii.parse(cut)
    cut.write_bytes(data[:1500])
    with pytest.raises(ParseError, match="no '!END_OF_HEADER'"):
        xds_ascii.parse(cut)
