"""AIMLESS log parser on the real xia2 2014 log (realdata/SOURCES.md; README §2.5).

Malformed and version-variant inputs are derived from the real file at test time in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import aimless
from mmcat_mx.parsers._shells import SHELL_KEYS

DATA = Path(mmcat_mx.__file__).parent / "realdata"
LOG = DATA / "nt5073v16_xBAZ2BAx8281_aimless.log"
SHELLS = ("overall", "inner", "outer")

#: README §2.5, Overall / Inner / Outer.
EXPECTED = {
    "resolution_low": (42.66, 42.66, 1.95),
    "resolution_high": (1.90, 8.50, 1.90),
    "r_merge": (0.048, 0.028, 0.648),  # Rmerge within I+/I-
    "r_meas_within": (0.056, 0.032, 0.763),
    "r_meas_all": (0.057, 0.034, 0.767),
    "r_pim_within": (0.030, 0.016, 0.398),
    "r_pim_all": (0.022, 0.013, 0.288),
    "n_observations": (125167, 1512, 9679),
    "n_unique": (18787, 247, 1388),
    "mean_i_over_sigma": (19.3, 55.0, 2.6),
    "cc_half": (0.999, 0.999, 0.865),
    "completeness": (99.9, 99.2, 99.9),
    "multiplicity": (6.7, 6.1, 7.0),
    "anomalous_completeness": (99.4, 100.0, 99.8),
    "anomalous_multiplicity": (3.4, 3.8, 3.5),
    "cc_anomalous": (0.016, -0.059, 0.031),  # DelAnom correlation between half-sets
}


@pytest.fixture(scope="module")
def result():
    return aimless.parse(LOG)


def test_detect():
    assert aimless.detect(LOG)
    assert not aimless.detect(DATA / "xia2.txt")
    assert not aimless.detect(DATA / "CORRECT.LP")
    assert not aimless.detect(DATA / "no-such.log")


def test_program_and_crystal(result):
    assert result["format"] == "aimless_log"
    assert result["program"] == {"name": "AIMLESS", "version": "0.2.17",
                                 "release_date": "07/01/14", "ccp4_version": "6.4",
                                 "run_date": "2014-05-15 03:34:03"}
    assert result["space_group"] == "C 2 2 21"
    assert result["cell"] == {"a": 83.09, "b": 96.79, "c": 57.95,
                              "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["wavelength"] == pytest.approx(0.92001)
    assert result["mosaicity"] == 0.0


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_shells_match_the_readme(result, key):
    assert tuple(result["shells"][s][key] for s in SHELLS) == pytest.approx(EXPECTED[key])


def test_normalised_shape(result):
    assert set(result["shells"]) == set(SHELLS)
    for shell in SHELLS:
        assert tuple(result["shells"][shell]) == SHELL_KEYS
        assert result["shells"][shell]["dano_over_sigdano"] is None  # not in AIMLESS logs
        assert isinstance(result["shells"][shell]["n_unique"], int)
    json.dumps(result)


def test_other_summary_values(result):
    assert result["r_merge_all"] == pytest.approx({"overall": 0.052, "inner": 0.031,
                                                   "outer": 0.710})
    assert result["r_merge_top_bin"] == pytest.approx(0.027)
    assert result["anomalous_mid_slope"] == pytest.approx(1.025)
    assert result["resolution_estimates"]["cc_half_limit"] == pytest.approx(1.90)
    assert result["resolution_estimates"]["i_over_sigma_limit"] == pytest.approx(1.90)
    assert result["anisotropic_delta_b"] == pytest.approx(15.26)
    [dataset] = result["datasets"]
    assert (dataset["project"], dataset["crystal"], dataset["dataset"]) == (
        "nt5073v16", "xBAZ2BAx8281", "SAD")
    assert dataset["extra"] == {}


def test_newer_aimless_layout_parses(tmp_path):
    """AIMLESS 0.7 prints another banner and a Mean(Chi^2) row; both are accepted (derived)."""
    text = LOG.read_text(encoding="latin-1")
    text = text.replace("### CCP4 6.4: AIMLESS               version 0.2.17 : 07/01/14##",
                        "### CCP4 7.1.018: AIMLESS         version 0.7.7 : 23/04/21##")
    text = text.replace("Multiplicity                                 6.7       6.1       7.0\n",
                        "Multiplicity                                 6.7       6.1       7.0\n"
                        "Mean(Chi^2)                                 0.98      1.02      0.91\n")
    variant = tmp_path / "aimless.log"
    variant.write_text(text, encoding="latin-1")
    result = aimless.parse(variant)
    assert result["program"]["version"] == "0.7.7"
    assert result["datasets"][0]["mean_chi2"] == pytest.approx(
        {"overall": 0.98, "inner": 1.02, "outer": 0.91})
    assert result["shells"]["overall"]["cc_half"] == pytest.approx(0.999)


@pytest.mark.parametrize("marker", ["<!--SUMMARY_END-->", "Mean((I)/sd(I))",
                                    "Summary data for"])
def test_truncated_log_is_a_clear_error(tmp_path, marker):
    text = LOG.read_text(encoding="latin-1")
    cut = tmp_path / LOG.name
    cut.write_text(text[: text.rindex(marker)], encoding="latin-1")
    with pytest.raises(ParseError, match=LOG.name):
        aimless.parse(cut)


def test_other_files_are_refused(tmp_path):
    with pytest.raises(ParseError, match="not an AIMLESS log"):
        aimless.parse(DATA / "xia2.txt")
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(ParseError, match="empty"):
        aimless.parse(empty)
