"""MTZ header parser (gemmi) on the real xia2 2014 free-R MTZ (README §2.7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import mtz

DATA = Path(mmcat_mx.__file__).parent / "realdata"
MTZ = DATA / "nt5073v16_xBAZ2BAx8281_free.mtz"


@pytest.fixture(scope="module")
def result():
    return mtz.parse(MTZ)


def test_detect():
    assert mtz.detect(MTZ)
    assert not mtz.detect(DATA / "XDS_ASCII.HKL")


def test_header(result):
    assert result["format"] == "mtz"
    assert result["title"] == "From XDS file SCALED_SAD_SWEEP1.HKL, XDS run on 15-May-2014 " \
                              "from image"
    assert result["space_group"] == "C 2 2 21"
    assert result["cell"] == {"a": 83.09, "b": 96.79, "c": 57.95,
                              "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["n_reflections"] == 18787
    assert (result["resolution_low"], result["resolution_high"]) == (42.665, 1.900)
    assert (result["n_batches"], result["merged"]) == (0, True)
    assert result["wavelength"] == pytest.approx(0.92001)


def test_datasets_and_columns(result):
    assert [(d["id"], d["project"], d["crystal"], d["dataset"]) for d in result["datasets"]] == [
        (0, "HKL_base", "HKL_base", "HKL_base"), (1, "nt5073v16", "xBAZ2BAx8281", "SAD")]
    assert [(c["label"], c["type"]) for c in result["columns"]] == [
        ("H", "H"), ("K", "H"), ("L", "H"), ("FreeR_flag", "I"), ("F", "F"), ("SIGF", "Q"),
        ("DANO", "D"), ("SIGDANO", "Q"), ("F(+)", "G"), ("SIGF(+)", "L"), ("F(-)", "G"),
        ("SIGF(-)", "L"), ("ISYM", "Y"), ("IMEAN", "J"), ("SIGIMEAN", "Q"), ("I(+)", "K"),
        ("SIGI(+)", "M"), ("I(-)", "K"), ("SIGI(-)", "M")]


def test_history(result):
    assert "HISTORY RawData: 05/15/14 Diamond i04-1 nt5073-16 696427 XIA2" in result["history"]
    names = {p["name"]: p["version"] for p in result["history_programs"]}
    assert names["AIMLESS"] == "0.2.17" and names["POINTLESS"] == "1.9.2"
    assert names["ctruncate"] == "1.13.13"
    json.dumps(result)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_mtz_is_a_clear_error(tmp_path, keep):
    data = MTZ.read_bytes()
    cut = tmp_path / MTZ.name
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ParseError, match=f"{MTZ.name}: gemmi cannot read"):
        mtz.parse(cut)


def test_not_an_mtz(tmp_path):
    with pytest.raises(ParseError, match="not an MTZ file"):
        mtz.parse(DATA / "xia2.txt")
