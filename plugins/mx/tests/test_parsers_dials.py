"""DIALS experiment-list parser on the real thaumatin still (README §2.10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import dials_expt

DATA = Path(mmcat_mx.__file__).parent / "realdata"
EXPT = DATA / "experiments_thaum_0500.json"


@pytest.fixture(scope="module")
def result():
    return dials_expt.parse(EXPT)


def test_detect():
    assert dials_expt.detect(EXPT)
    assert not dials_expt.detect(DATA / "ispyb.xml")


def test_models(result):
    assert result["format"] == "dials_experiment_list"
    assert result["n_experiments"] == 1
    assert result["is_still"] is True
    assert result["n_goniometers"] == 0 and result["scans"] == []
    assert result["imagesets"] == [{"type": "ImageSet", "template": None,
                                    "images": ["thaum_0500.cbf.gz"]}]
    assert result["wavelength"] == pytest.approx(0.97625)
    assert result["beams"][0]["polarization_fraction"] == pytest.approx(0.999)


def test_detector(result):
    [detector] = result["detectors"]
    [panel] = detector["panels"]
    assert (panel["type"], panel["material"]) == ("SENSOR_PAD", "Si")
    assert panel["image_size"] == [2463, 2527]
    assert panel["pixel_size"] == pytest.approx([0.172, 0.172])
    assert panel["trusted_range"] == [-1.0, 1009797.0]


def test_crystal(result):
    [crystal] = result["crystals"]
    assert crystal["space_group_hall_symbol"] == " P 4"
    assert result["space_group"] == "P 4"
    assert result["cell"] == pytest.approx({"a": 57.987, "b": 57.987, "c": 149.825,
                                            "alpha": 90.0, "beta": 90.0, "gamma": 90.0},
                                           abs=1e-3)
    json.dumps(result)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(experiment=[]), "no experiments"),
    (lambda d: d["experiment"][0].update(beam=3), "beam 3, which does not exist"),
    (lambda d: d["crystal"][0].pop("real_space_b"), "unexpected experiment-list content"),
    (lambda d: d["crystal"][0].update(space_group_hall_symbol="nonsense"),
     "unknown space_group_hall_symbol"),
    (lambda d: d.update(__id__="Other"), "not a DIALS ExperimentList"),
])
def test_damaged_lists_give_a_clear_error(tmp_path, mutate, message):
    data = json.loads(EXPT.read_text())
    mutate(data)
    path = tmp_path / EXPT.name
    path.write_text(json.dumps(data))
    with pytest.raises(ParseError, match=message):
        dials_expt.parse(path)


def test_truncated_json_is_a_clear_error(tmp_path):
    path = tmp_path / EXPT.name
    path.write_text(EXPT.read_text()[:2000])
    with pytest.raises(ParseError, match="experiments_thaum_0500.json: malformed or truncated"):
        dials_expt.parse(path)
