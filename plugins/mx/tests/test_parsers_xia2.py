"""xia2.txt and xia2-summary.dat parsers on the real 2014 run (README §2.4; same run as
ispyb.xml, §2.3). Version variants and malformed inputs are derived at test time in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import autoproc_xml, xia2_txt
from mmcat_mx.parsers._shells import SHELL_KEYS

DATA = Path(mmcat_mx.__file__).parent / "realdata"
TXT = DATA / "xia2.txt"
SUMMARY = DATA / "xia2-summary.dat"
SHELLS = ("overall", "inner", "outer")

#: README §2.4, Overall / Inner / Outer.
EXPECTED = {
    "resolution_high": (1.90, 8.50, 1.90),
    "resolution_low": (42.66, 42.66, 1.95),
    "completeness": (99.9, 99.2, 99.9),
    "multiplicity": (6.7, 6.1, 7.0),
    "mean_i_over_sigma": (19.3, 55.0, 2.6),
    "r_merge": (0.048, 0.028, 0.648),
    "r_meas_all": (0.057, 0.034, 0.767),  # Rmeas(I)
    "r_meas_within": (0.056, 0.032, 0.763),  # Rmeas(I+/-)
    "r_pim_all": (0.022, 0.013, 0.288),  # Rpim(I)
    "r_pim_within": (0.030, 0.016, 0.398),  # Rpim(I+/-)
    "anomalous_completeness": (99.4, 100.0, 99.8),
    "anomalous_multiplicity": (3.4, 3.8, 3.5),
    "cc_anomalous": (0.016, -0.059, 0.031),
    "n_observations": (125167, 1512, 9679),
    "n_unique": (18787, 247, 1388),
}
IN_SUMMARY = ("resolution_high", "resolution_low", "completeness", "multiplicity",
              "mean_i_over_sigma", "r_merge", "anomalous_completeness",
              "anomalous_multiplicity")
CELL = {"a": 83.09, "b": 96.79, "c": 57.95, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}


@pytest.fixture(scope="module")
def txt():
    return xia2_txt.parse(TXT)


@pytest.fixture(scope="module")
def summary():
    return xia2_txt.parse_summary(SUMMARY)


def test_detect_tells_the_two_apart():
    assert xia2_txt.detect(TXT) and not xia2_txt.detect_summary(TXT)
    assert xia2_txt.detect_summary(SUMMARY) and not xia2_txt.detect(SUMMARY)
    for other in ("ispyb.xml", "CORRECT.LP", "nt5073v16_xBAZ2BAx8281_aimless.log"):
        assert not xia2_txt.detect(DATA / other)
        assert not xia2_txt.detect_summary(DATA / other)


def test_txt_metadata(txt):
    assert txt["format"] == "xia2_txt"
    program = txt["program"]
    assert (program["name"], program["version"], program["build"]) == ("xia2", "0.3.6.3", "4468")
    assert program["command_line"].startswith("xia2 -min_images 3 -3daii")
    assert program["status"] == "normal termination"
    assert program["processing_time"] == "00h 08m 00s"
    assert txt["indexing_solution"] == {"lattice": "oC", "cell": {
        "a": 83.2, "b": 96.9, "c": 58.0, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}}
    assert (txt["wavelength_name"], txt["wavelength"]) == ("SAD", 0.92)
    assert txt["detector"] == "dectris"
    assert txt["exposure_time"] == pytest.approx(0.05)
    assert txt["oscillation_range"] == pytest.approx(0.10)
    assert txt["image_range"] == [1, 1800]
    assert txt["template"] == "BAZ2BA-x828_1_####.cbf"
    assert txt["directory"] == "/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828"
    assert txt["space_group"] == "C 2 2 21"
    assert txt["cell"] == CELL
    assert txt["twinning_score"] == pytest.approx(2.49)


def test_txt_single_values(txt):
    assert txt["wilson_b"] == pytest.approx(29.862)
    assert txt["anomalous_slope"] == pytest.approx(1.025)
    assert txt["df_over_f"] == pytest.approx(0.047)
    assert txt["di_over_sig_di"] == pytest.approx(0.841)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_txt_shells_match_the_readme(txt, key):
    assert tuple(txt["shells"][s][key] for s in SHELLS) == pytest.approx(EXPECTED[key])


def test_txt_agrees_with_ispyb_xml_of_the_same_run(txt):
    xml = autoproc_xml.parse(DATA / "ispyb.xml")
    for shell in SHELLS:
        for key in ("r_merge", "r_meas_all", "r_pim_within", "r_pim_all", "n_observations",
                    "n_unique", "completeness", "multiplicity", "anomalous_completeness"):
            assert txt["shells"][shell][key] == pytest.approx(xml["shells"][shell][key]), key


def test_summary_metadata(summary):
    assert summary["format"] == "xia2_summary_dat"
    assert summary["program"] == {"name": "xia2", "version": None}
    assert (summary["project"], summary["crystal"], summary["sweep"]) == (
        "nt5073v16", "xBAZ2BAx8281", "SWEEP1")
    assert (summary["wavelength_name"], summary["wavelength"]) == ("SAD", 0.92)
    assert summary["beam_start"] == [143.99, 125.00]
    assert summary["beam_refined"] == [144.43, 126.07]
    assert (summary["distance_start"], summary["distance_refined"]) == (189.45, 189.20)
    assert summary["image_range"] == [1, 1800]
    assert summary["space_group"] == "C 2 2 21"
    assert summary["cell"] == CELL
    assert summary["date"] == "Thu May 15 03:28:10 2014"


@pytest.mark.parametrize("key", IN_SUMMARY)
def test_summary_shells_match_the_readme(summary, key):
    # written "1.9 8.5 1.9" in the summary, "1.90 8.50 1.90" in xia2.txt: same numbers
    assert tuple(summary["shells"][s][key] for s in SHELLS) == pytest.approx(EXPECTED[key])


def test_summary_lacks_what_the_file_lacks(summary):
    for shell in SHELLS:
        assert tuple(summary["shells"][shell]) == SHELL_KEYS
        assert summary["shells"][shell]["cc_half"] is None
        assert summary["shells"][shell]["n_unique"] is None
    json.dumps(summary)


def test_later_xia2_row_labels_parse(tmp_path):
    """Later xia2 writes Rmerge(I+/-), Rmerge(I) and CC half (derived from the 2014 file)."""
    text = TXT.read_text()
    text = text.replace("Rmerge                                  \t0.048\t0.028\t0.648\n",
                        "Rmerge(I+/-)                            0.048   0.028   0.648\n"
                        "Rmerge(I)                               0.052   0.031   0.710\n")
    text = text.replace("Total unique                            \t18787\t247\t1388\n",
                        "Total unique                            18787   247     1388\n"
                        "CC half                                 0.999   0.999   0.865\n")
    text = text.replace("For nt5073v16/xBAZ2BAx8281/SAD\n",
                        "For nt5073v16/xBAZ2BAx8281/SAD:\n"
                        "                                        Overall  Low     High\n", 1)
    text = text.replace("XIA2 0.3.6.3\n", "XIA2 3.10.2\n")
    variant = tmp_path / "xia2.txt"
    variant.write_text(text)
    result = xia2_txt.parse(variant)
    assert result["program"]["version"] == "3.10.2"
    overall = result["shells"]["overall"]
    assert (overall["r_merge"], overall["cc_half"], overall["n_unique"]) == (0.048, 0.999, 18787)
    assert result["datasets"][0]["r_merge_all"] == {"overall": 0.052, "inner": 0.031,
                                                    "outer": 0.710}


def test_truncated_txt_is_a_clear_error(tmp_path):
    text = TXT.read_text()
    cut = tmp_path / "xia2.txt"
    cut.write_text(text[: text.index("Processing took")])
    with pytest.raises(ParseError, match="xia2.txt: truncated: no final 'Status:' line"):
        xia2_txt.parse(cut)
    cut.write_text(text[: text.index("Completeness    ")])
    with pytest.raises(ParseError, match="xia2.txt"):
        xia2_txt.parse(cut)


def test_truncated_summary_is_a_clear_error(tmp_path):
    text = SUMMARY.read_text()
    cut = tmp_path / "xia2-summary.dat"
    cut.write_text(text[: text.index("Cell:")])
    with pytest.raises(ParseError, match="xia2-summary.dat: truncated"):
        xia2_txt.parse_summary(cut)
    cut.write_text(text[: text.index("Completeness")])
    with pytest.raises(ParseError, match="lacks completeness"):
        xia2_txt.parse_summary(cut)


def test_other_files_are_refused():
    with pytest.raises(ParseError, match="not a xia2.txt"):
        xia2_txt.parse(SUMMARY)
    with pytest.raises(ParseError, match="not a xia2-summary.dat"):
        xia2_txt.parse_summary(TXT)
