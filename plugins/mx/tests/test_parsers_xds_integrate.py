"""XDS INTEGRATE.LP parser on the real xia2 2014 INTEGRATE log (README §2.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import xds_integrate

DATA = Path(mmcat_mx.__file__).parent / "realdata"
LOG = DATA / "nt5073v16_xBAZ2BAx8281_SAD_SWEEP1_INTEGRATE.log"


@pytest.fixture(scope="module")
def result():
    return xds_integrate.parse(LOG)


def test_detect():
    assert xds_integrate.detect(LOG)
    assert not xds_integrate.detect(DATA / "CORRECT.LP")
    assert not xds_integrate.detect(DATA / "xia2.txt")


def test_input_parameters(result):
    assert result["format"] == "xds_integrate_lp"
    assert result["program"] == {"name": "XDS", "step": "INTEGRATE",
                                 "version": "January 10, 2014", "build": None,
                                 "run_date": "15-May-2014"}
    assert result["name_template"].endswith("/BAZ2BA-x828_1_????.cbf")
    assert result["image_format"] == "CBF"
    assert result["data_range"] == [1, 1800]
    assert result["space_group_number"] == 20
    assert result["space_group"] == "C 2 2 21"
    assert result["input_cell"] == {"a": 83.09, "b": 96.79, "c": 57.95,
                                    "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["oscillation_range"] == pytest.approx(0.1)
    assert result["wavelength"] == pytest.approx(0.92)
    assert result["input_distance"] == pytest.approx(189.230)
    assert result["detector_size"] == [1475, 1679]
    assert result["pixel_size"] == [0.172, 0.172]


def test_last_refinement_block(result):
    assert result["cell"] == {"a": 83.114, "b": 96.817, "c": 58.008,
                              "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["mosaicity"] == pytest.approx(0.063)
    assert result["spot_sd_pixels"] == pytest.approx(0.31)
    assert result["spindle_sd_degrees"] == pytest.approx(0.03)  # 0.04 in earlier blocks
    assert result["direct_beam"] == [732.93, 839.69]
    assert result["distance"] == pytest.approx(189.23)


def test_final_values(result):
    assert (result["beam_divergence"], result["beam_divergence_esd"]) == (0.301, 0.030)
    assert (result["reflecting_range"], result["reflecting_range_esd"]) == (0.385, 0.055)
    assert result["reflections_saved"] == 340434
    assert result["wall_clock_seconds"] == pytest.approx(24.6)
    assert result["images"]["count"] == 1800
    assert (result["images"]["first"], result["images"]["last"]) == (1, 1800)
    assert result["images"]["with_error"] == 0
    json.dumps(result)


def test_truncated_log_is_a_clear_error(tmp_path):
    text = LOG.read_text(encoding="latin-1")
    cut = tmp_path / LOG.name
    cut.write_text(text[: text.index("REFLECTIONS SAVED ON FILE")], encoding="latin-1")
    with pytest.raises(ParseError, match=f"{LOG.name}: truncated"):
        xds_integrate.parse(cut)


def test_other_files_are_refused():
    with pytest.raises(ParseError, match="not an XDS INTEGRATE.LP"):
        xds_integrate.parse(DATA / "CORRECT.LP")
