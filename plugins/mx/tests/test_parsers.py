"""Tests of the MX parsers on real files (see mmcat_mx/realdata/SOURCES.md).

Expected values were read from the files themselves; decimals are quoted as written there.
Malformed inputs are derived from the real files at test time (truncated copies) in tmp_path.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import mmcat_mx
from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import autoproc_xml, xds_correct

DATA = Path(mmcat_mx.__file__).parent / "realdata"
AUTOPROC = DATA / "autoPROC.xml"
XIA2 = DATA / "ispyb.xml"
CORRECT = DATA / "CORRECT.LP"

SHELL_ORDER = ("overall", "inner", "outer")


def approx(value):
    """Tight pytest.approx for floats, also inside dicts, lists and tuples; other values exact."""
    if isinstance(value, dict):
        return {key: approx(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(approx(item) for item in value)
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    return value


def truncated_copy(source: Path, tmp_path: Path, fraction: float) -> Path:
    """Write the first ``fraction`` of ``source`` to tmp_path under the same name."""
    data = source.read_bytes()
    target = tmp_path / source.name
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def cut_before(source: Path, tmp_path: Path, marker: str) -> Path:
    """Write ``source`` up to (not including) the last occurrence of ``marker`` to tmp_path."""
    text = source.read_text(encoding="latin-1")
    assert marker in text
    target = tmp_path / source.name
    target.write_text(text[: text.rindex(marker)], encoding="latin-1")
    return target


# --- ISPyB AutoProcContainer XML: autoPROC ---------------------------------------------------

AUTOPROC_SHELLS = {
    # stat: (overall, innerShell, outerShell), README §2.1
    "resolution_low": (100.654, 100.654, 2.236),
    "resolution_high": (2.199, 5.967, 2.199),
    "r_merge": (0.513, 0.409, 1.265),
    "r_meas_within": (0.584, 0.494, 1.649),
    "r_meas_all": (0.543, 0.436, 1.564),
    "r_pim_within": (0.258, 0.223, 1.136),
    "r_pim_all": (0.174, 0.146, 0.902),
    "n_observations": (530047, 31567, 8522),
    "n_unique": (64583, 3435, 3076),
    "mean_i_over_sigma": (8.7, 17.4, 1.4),
    "completeness": (98.9, 99.8, 94.4),
    "multiplicity": (8.2, 9.2, 2.8),
    "cc_half": (0.968, 0.962, 0.330),
    "anomalous_completeness": (95.9, 99.8, 79.4),
    "anomalous_multiplicity": (4.3, 5.0, 1.6),
    "cc_anomalous": (-0.355, -0.500, -0.023),
    "dano_over_sigdano": (0.757, 0.603, 0.628),
}


@pytest.fixture(scope="module")
def autoproc():
    return autoproc_xml.parse(AUTOPROC)


def test_autoproc_detect():
    assert autoproc_xml.detect(AUTOPROC)
    assert autoproc_xml.detect(XIA2)
    assert not autoproc_xml.detect(CORRECT)
    assert not autoproc_xml.detect(DATA / "SOURCES.md")
    assert not autoproc_xml.detect(DATA / "no-such-file.xml")


def test_autoproc_program(autoproc):
    program = autoproc["program"]
    assert autoproc["format"] == "ispyb_autoproc_xml"
    assert program["name"] == "autoPROC"
    assert program["version"] == "1.1.7"
    assert program["programs"] == (
        "autoPROC 1.1.7 (20240123 - see: http://www.globalphasing.com/autoproc/)"
    )
    assert program["status"] == 1
    assert program["start_time"] == "Wed Feb 21 13:44:19 CET 2024"
    assert program["end_time"] == "Wed Feb 21 14:43:47 CET 2024"
    assert program["command_line"].startswith("/cvmfs/sb.esrf.fr/software/packages/")
    assert program["command_line"].endswith("-nthreads 20")


def test_autoproc_attachments(autoproc):
    assert [(a["file_type"], a["file_name"]) for a in autoproc["attachments"]] == [
        ("Log", "summary.html"),
        ("Log", "summary.tar.gz"),
        ("Result", "truncate-unique.mtz"),
        ("Result", "truncate-unique.table1"),
        ("Result", "truncate-unique.stats"),
    ]
    assert all(a["file_path"].endswith("/autoPROC/nobackup") for a in autoproc["attachments"])


def test_autoproc_crystal(autoproc):
    assert autoproc["space_group"] == "P 3 2 1"
    assert autoproc["wavelength"] == approx(0.96546)  # written ".96546"
    assert autoproc["cell"] == approx(
        {"a": 148.469, "b": 148.469, "c": 100.654, "alpha": 90.0, "beta": 90.0, "gamma": 120.0}
    )
    assert autoproc["record_time"] == "2024-02-21 14:38:33"


@pytest.mark.parametrize("stat", sorted(AUTOPROC_SHELLS))
def test_autoproc_shells(autoproc, stat):
    shells = autoproc["shells"]
    assert set(shells) == set(SHELL_ORDER)
    got = tuple(shells[name][stat] for name in SHELL_ORDER)
    assert got == approx(AUTOPROC_SHELLS[stat])


def test_autoproc_shell_types(autoproc):
    for name in SHELL_ORDER:
        assert set(autoproc["shells"][name]) == set(AUTOPROC_SHELLS)
        assert isinstance(autoproc["shells"][name]["n_observations"], int)


def test_autoproc_integrations(autoproc):
    integrations = autoproc["integrations"]
    assert [i["image_file"] for i in integrations] == [
        f"INS-Helical_test1_1_{n}_0001.cbf" for n in (7, 9, 11, 13)
    ]
    assert all((i["start_image"], i["end_image"]) == (1, 235) for i in integrations)
    first = integrations[0]
    assert first["cell"] == approx(
        {"a": 148.1681, "b": 148.1681, "c": 100.2833, "alpha": 90.0, "beta": 90.0, "gamma": 120.0}
    )
    assert first["detector_distance"] == approx(535.955627)
    assert (first["beam_x"], first["beam_y"]) == approx((206.503, 224.033))
    assert first["image_directory"].endswith("/run_01_MXPressA/run_01_07_datacollection")


def test_autoproc_is_json_serialisable(autoproc):
    assert json.loads(json.dumps(autoproc)) == autoproc


# --- ISPyB AutoProcContainer XML: xia2 ispyb.xml ---------------------------------------------

XIA2_SHELLS = {
    # stat: (overall, inner, outer), README §2.3
    "resolution_low": (42.66, 42.66, 1.95),
    "resolution_high": (1.9, 8.5, 1.9),
    "r_merge": (0.048, 0.028, 0.648),
    "r_meas_all": (0.057, 0.034, 0.767),
    "r_pim_within": (0.03, 0.016, 0.398),
    "r_pim_all": (0.022, 0.013, 0.288),
    "n_observations": (125167, 1512, 9679),
    "n_unique": (18787, 247, 1388),
    "mean_i_over_sigma": (19.3, 55.0, 2.6),
    "completeness": (99.9, 99.2, 99.9),
    "multiplicity": (6.7, 6.1, 7.0),
    "anomalous_completeness": (99.4, 100.0, 99.8),
    "anomalous_multiplicity": (3.4, 3.8, 3.5),
    # not written by xia2 0.3.6.3:
    "r_meas_within": (None, None, None),
    "cc_half": (None, None, None),
    "cc_anomalous": (None, None, None),
    "dano_over_sigdano": (None, None, None),
}


@pytest.fixture(scope="module")
def xia2():
    return autoproc_xml.parse(XIA2)


def test_xia2_program_last_and_no_status(xia2):
    program = xia2["program"]
    assert program["name"] == "xia2"
    assert program["programs"] == "xia2"
    assert program["version"] is None
    assert program["status"] is None
    assert program["start_time"] is None and program["end_time"] is None
    assert program["command_line"].startswith("xia2 -min_images 3 -3daii ")


def test_xia2_attachments(xia2):
    assert [(a["file_type"], a["file_name"]) for a in xia2["attachments"]] == [
        ("Result", "nt5073v16_xBAZ2BAx8281_free.mtz"),
        ("Log", "xia2.txt"),
    ]


def test_xia2_crystal(xia2):
    assert xia2["space_group"] == "C 2 2 21"
    assert xia2["wavelength"] is None
    assert xia2["cell"] == approx(
        {"a": 83.089996, "b": 96.790001, "c": 57.950001, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    )
    assert xia2["record_time"] == "2014-05-15 03:34:18"


@pytest.mark.parametrize("stat", sorted(XIA2_SHELLS))
def test_xia2_shells(xia2, stat):
    got = tuple(xia2["shells"][name][stat] for name in SHELL_ORDER)
    assert got == approx(XIA2_SHELLS[stat])


def test_xia2_integration(xia2):
    (integration,) = xia2["integrations"]
    assert integration["image_file"] == "BAZ2BA-x828_1_0001.cbf"
    assert integration["image_directory"] == "/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828"
    assert (integration["start_image"], integration["end_image"]) == (1, 1800)
    assert integration["detector_distance"] == approx(189.2)
    assert (integration["beam_x"], integration["beam_y"]) == approx((144.42668, 126.06568))
    assert [integration["cell"][k] for k in ("a", "b", "c")] == approx([83.091, 96.794, 57.951])


# --- AutoProcContainer XML: bad input --------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_autoproc_truncated(tmp_path, fraction):
    path = truncated_copy(AUTOPROC, tmp_path, fraction)
    with pytest.raises(ParseError, match=r"autoPROC\.xml: malformed or truncated XML"):
        autoproc_xml.parse(path)


def test_autoproc_rejects_other_file():
    with pytest.raises(ParseError, match=r"CORRECT\.LP: malformed or truncated XML"):
        autoproc_xml.parse(CORRECT)


def test_autoproc_rejects_other_root(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?><DataCollection><x>1</x></DataCollection>')
    assert not autoproc_xml.detect(path)
    with pytest.raises(ParseError, match=r"other\.xml: root element is <DataCollection>"):
        autoproc_xml.parse(path)


def test_autoproc_unknown_encoding(tmp_path):
    path = tmp_path / "odd.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="bogus"?><AutoProcContainer/>')
    with pytest.raises(ParseError, match=r"odd\.xml: unreadable XML"):
        autoproc_xml.parse(path)


def test_autoproc_empty_and_missing(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match=r"empty\.xml: file is empty"):
        autoproc_xml.parse(empty)
    with pytest.raises(ParseError, match=r"absent\.xml: cannot be read"):
        autoproc_xml.parse(tmp_path / "absent.xml")


def test_autoproc_unknown_element_is_ignored(tmp_path, xia2):
    # Derived copy: ispyb-api's fixture carries an unknown <foo>; add one to the real file.
    text = XIA2.read_text().replace("<AutoProc>", "<foo>bar</foo><AutoProc><foo/>", 1)
    path = tmp_path / "ispyb.xml"
    path.write_text(text)
    assert autoproc_xml.parse(path) == xia2


def test_autoproc_bad_number(tmp_path):
    # Derived copy with a corrupted value: an error, never a partial result.
    text = XIA2.read_text().replace("<rMerge>0.048</rMerge>", "<rMerge>0.0x8</rMerge>")
    path = tmp_path / "ispyb.xml"
    path.write_text(text)
    with pytest.raises(ParseError, match=r"ispyb\.xml: rMerge is not a number: '0\.0x8'"):
        autoproc_xml.parse(path)


def test_autoproc_conflicting_repeats(tmp_path):
    # Derived copy whose 2nd AutoProc disagrees with the 1st: no silent choice.
    text = AUTOPROC.read_text()
    second = text.index("<spaceGroup>", text.index("<spaceGroup>") + 1)
    text = text[:second] + text[second:].replace("P 3 2 1", "P 31 2 1", 1)
    path = tmp_path / "autoPROC.xml"
    path.write_text(text)
    with pytest.raises(ParseError, match="AutoProc blocks disagree"):
        autoproc_xml.parse(path)


# --- XDS CORRECT.LP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def correct():
    return xds_correct.parse(CORRECT)


def test_correct_detect():
    assert xds_correct.detect(CORRECT)
    assert not xds_correct.detect(AUTOPROC)
    assert not xds_correct.detect(XIA2)
    assert not xds_correct.detect(DATA / "no-such-file.LP")


def test_correct_header(correct):
    assert correct["format"] == "xds_correct_lp"
    assert correct["program"] == {
        "name": "XDS",
        "version": "Jan 31, 2020",
        "build": "20200131",
        "run_date": "3-Jul-2020",
    }
    assert correct["wavelength"] == approx(0.9184)
    assert correct["data_range"] == [1, 3600]
    assert correct["name_template"] == "images/ARwoDMSO-F2XEntry-A07a_1_????.cbf"


def test_correct_refined_parameters(correct):
    assert correct["space_group_number"] == 5
    assert correct["space_group"] == "C 1 2 1"
    assert correct["cell"] == approx(
        {"a": 88.684, "b": 82.265, "c": 93.702, "alpha": 90.0, "beta": 108.65, "gamma": 90.0}
    )
    assert correct["cell_esd"] == approx(
        {"a": 0.19, "b": 0.15, "c": 0.18, "alpha": 0.0, "beta": 0.01, "gamma": 0.0}
    )
    assert correct["mosaicity"] == approx(0.097)
    assert correct["spot_sd_pixels"] == approx(0.28)
    assert correct["spindle_sd_degrees"] == approx(0.12)


def test_correct_isa_wilson_counts(correct):
    assert correct["isa"] == approx({"a": 0.8159, "b": 0.001371, "isa": 29.90})
    assert correct["wilson_b"] == approx(47.824)
    assert correct["accepted_observations"] == 490020
    assert correct["unique_accepted_reflections"] == 71339


def test_correct_total_line(correct):
    assert correct["total"] == approx(
        {
            "resolution_high": None,
            "n_observations": 489902,
            "n_unique": 71323,
            "n_possible": 71486,
            "completeness": 99.8,
            "r_observed": 4.8,
            "r_expected": 4.8,
            "n_compared": 489807,
            "i_over_sigma": 16.42,
            "r_meas": 5.1,
            "cc_half": 100.0,
            "cc_half_significant": True,
            "anomalous_correlation": 1.0,
            "sig_ano": 0.730,
            "n_ano": 67122,
        }
    )


def test_correct_shells_are_last_table(correct):
    shells = correct["shells"]
    assert [s["resolution_high"] for s in shells] == approx(
        [5.04, 3.58, 2.92, 2.53, 2.27, 2.07, 1.92, 1.79, 1.69]
    )
    # the first cumulative table (images 1-401) has 2213 observations in this shell
    assert shells[0]["n_observations"] == 20207
    assert all(s["cc_half_significant"] for s in shells)
    assert sum(s["n_observations"] for s in shells) == correct["total"]["n_observations"]


def test_correct_outer_shell_row(correct):
    outer = correct["shells"][-1]
    assert outer == approx(
        {
            "resolution_high": 1.69,
            "n_observations": 80273,
            "n_unique": 11431,
            "n_possible": 11507,
            "completeness": 99.3,
            "r_observed": 373.0,
            "r_expected": 401.5,
            "n_compared": 80226,
            "i_over_sigma": 0.52,
            "r_meas": 402.7,
            "cc_half": 23.5,
            "cc_half_significant": True,
            "anomalous_correlation": 0.0,
            "sig_ano": 0.584,
            "n_ano": 10767,
        }
    )


def test_correct_overall_summary(correct):
    overall = correct["overall"]
    assert overall["resolution_low"] == pytest.approx(44.63, abs=0.005)
    assert overall["resolution_high"] == approx(1.69)
    assert overall["r_merge"] == approx(0.048)
    assert overall["r_meas_all"] == approx(0.051)
    assert overall["cc_half"] == approx(1.0)
    assert overall["completeness"] == approx(99.8)
    assert overall["mean_i_over_sigma"] == approx(16.42)
    assert overall["multiplicity"] == pytest.approx(6.87, abs=0.005)
    assert (overall["n_observations"], overall["n_unique"]) == (489902, 71323)


def test_correct_outer_summary(correct):
    outer = correct["outer"]
    assert (outer["resolution_low"], outer["resolution_high"]) == approx((1.79, 1.69))
    assert outer["r_merge"] == approx(3.73)
    assert outer["r_meas_all"] == approx(4.027)
    assert outer["cc_half"] == approx(0.235)
    assert outer["completeness"] == approx(99.3)
    assert outer["mean_i_over_sigma"] == approx(0.52)
    assert (outer["n_observations"], outer["n_unique"]) == (80273, 11431)


def test_correct_summary_keys_match_xml_vocabulary(correct, autoproc):
    assert set(correct["overall"]) <= set(autoproc["shells"]["overall"])
    assert set(correct["outer"]) == set(correct["overall"])


def test_correct_is_json_serialisable(correct):
    assert json.loads(json.dumps(correct)) == correct


def test_correct_without_gemmi(monkeypatch):
    monkeypatch.setattr(xds_correct, "gemmi", None)
    result = xds_correct.parse(CORRECT)
    assert result["space_group_number"] == 5
    assert result["space_group"] is None


# --- CORRECT.LP: bad input --------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.9])
def test_correct_truncated(tmp_path, fraction):
    path = truncated_copy(CORRECT, tmp_path, fraction)
    with pytest.raises(ParseError, match=r"CORRECT\.LP: "):
        xds_correct.parse(path)


def test_correct_truncated_inside_last_table(tmp_path):
    path = cut_before(CORRECT, tmp_path, "    total      489902")
    with pytest.raises(ParseError, match=r"CORRECT\.LP: truncated: .* no 'total' line"):
        xds_correct.parse(path)


def test_correct_truncated_after_last_table(tmp_path):
    # An earlier cumulative table must never be reported as the final one.
    path = cut_before(CORRECT, tmp_path, "WILSON STATISTICS OF DATA SET")
    with pytest.raises(ParseError, match=r"CORRECT\.LP: truncated: no end-of-run"):
        xds_correct.parse(path)


def test_correct_corrupted_row(tmp_path):
    # Derived copy with one damaged shell row in the last table: an error, not a skipped row.
    text = CORRECT.read_text(encoding="latin-1")
    row = "     1.79       75482"
    cut = text.rindex(row)
    path = tmp_path / "CORRECT.LP"
    path.write_text(text[:cut] + "     1.7g       75482" + text[cut + len(row) :])
    with pytest.raises(ParseError, match=r"CORRECT\.LP: unexpected line in statistics table"):
        xds_correct.parse(path)


def test_correct_rejects_other_file(tmp_path):
    with pytest.raises(ParseError, match=r"autoPROC\.xml: no '\*\*\*\*\* CORRECT"):
        xds_correct.parse(AUTOPROC)
    empty = tmp_path / "CORRECT.LP"
    empty.write_text("\n\n")
    with pytest.raises(ParseError, match=r"CORRECT\.LP: file is empty"):
        xds_correct.parse(empty)


# Constructed layout sample, NOT real data: the column layout of older XDS versions, where
# Rmrgd-F stands in place of CC(1/2), Anomal Corr carries a % sign, and -99.9% / -99.00 mark
# values XDS could not compute. Only the layout matters; the numbers are illustrative.
OLD_LAYOUT_SAMPLE = """\
 ***** CORRECT ***** (VERSION  March 15, 2012)    1-Aug-2012

 SUBSET OF INTENSITY DATA WITH SIGNAL/NOISE >= -3.0 AS FUNCTION OF RESOLUTION
 RESOLUTION     NUMBER OF REFLECTIONS    COMPLETENESS R-FACTOR  R-FACTOR COMPARED I/SIGMA   \
R-meas  Rmrgd-F  Anomal  SigAno   Nano
   LIMIT     OBSERVED  UNIQUE  POSSIBLE     OF DATA   observed  expected                     \
                 Corr

     4.80         139     124       449       27.6%       7.3%      8.0%       29    7.00    \
10.1%     7.9%     0%   0.000       0
     1.62          49      49      1707        2.9%     -99.9%    -99.9%        0  -99.00   \
-99.9%   -99.9%     0%   0.000       0
    total         188     173      2156        8.0%       7.3%      8.0%       29    3.63    \
10.1%     7.9%     0%   0.000       0

 NUMBER OF ACCEPTED OBSERVATIONS                        188
 NUMBER OF UNIQUE ACCEPTED REFLECTIONS                  173

 cpu time used                  1.0 sec
"""


def test_correct_old_rmrgd_f_layout(tmp_path):
    path = tmp_path / "CORRECT.LP"
    path.write_text(OLD_LAYOUT_SAMPLE)
    assert xds_correct.detect(path)
    result = xds_correct.parse(path)
    assert result["program"] == {
        "name": "XDS",
        "version": "March 15, 2012",
        "build": None,
        "run_date": "1-Aug-2012",
    }
    first, last = result["shells"]
    assert first["cc_half"] is None and first["cc_half_significant"] is None
    assert first["r_meas"] == approx(10.1)
    assert first["anomalous_correlation"] == approx(0.0)
    assert (last["r_observed"], last["i_over_sigma"], last["r_meas"]) == (None, None, None)
    assert result["total"]["n_observations"] == 188
    assert result["overall"]["cc_half"] is None
    assert result["outer"]["resolution_low"] == approx(4.80)
    assert result["accepted_observations"] == 188
    assert result["cell"] is None and result["isa"] is None and result["space_group"] is None


def test_correct_unknown_table_layout(tmp_path):
    path = tmp_path / "CORRECT.LP"
    path.write_text(OLD_LAYOUT_SAMPLE.replace("Rmrgd-F", "Xyzzy-Q"))
    with pytest.raises(ParseError, match="unknown statistics-table layout"):
        xds_correct.parse(path)


def test_parsers_do_not_import_django():
    """The parser modules themselves import no Django (they run in workers and scripts)."""
    package = Path(autoproc_xml.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in getattr(node, "names", [])]
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "django" for n in names), module.name
