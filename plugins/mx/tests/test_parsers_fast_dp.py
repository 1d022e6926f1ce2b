"""fast_dp.json parser.

There is no real fast_dp.json in the reference data. The JSON below is CONSTRUCTED in the test
from the keys documented in shared/reference/realdata/README.md (row 29); its numbers are the
AIMLESS values of the xia2 2014 run (README §2.5), chosen only so that they are plausible.
"""

from __future__ import annotations

import json

import pytest

from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import fast_dp
from mmcat_mx.parsers._shells import SHELL_KEYS


def shell(low, high, rmerge, rmeas, obs, uniq, isig, comp, mult, cc, acomp, amult, ccano):
    return {"res_lim_low": low, "res_lim_high": high, "r_merge": rmerge,
            "r_meas_all_iplusi_minus": rmeas, "n_tot_obs": obs, "n_tot_unique_obs": uniq,
            "mean_i_sig_i": isig, "completeness": comp, "multiplicity": mult, "cc_half": cc,
            "anom_completeness": acomp, "anom_multiplicity": amult, "cc_anom": ccano}


CONSTRUCTED = {  # test-made, see the module docstring
    "spacegroup": "C 2 2 21",
    "unit_cell": [83.09, 96.79, 57.95, 90.0, 90.0, 90.0],
    "refined_beam": [144.43, 126.07],
    "commandline": "fast_dp BAZ2BA-x828_1_0001.cbf",
    "scaling_statistics": {
        "overall": shell(42.66, 1.9, 0.048, 0.057, 125167, 18787, 19.3, 99.9, 6.7, 0.999,
                         99.4, 3.4, 0.016),
        "innerShell": shell(42.66, 8.5, 0.028, 0.034, 1512, 247, 55.0, 99.2, 6.1, 0.999,
                            100.0, 3.8, -0.059),
        "outerShell": shell(1.95, 1.9, 0.648, 0.767, 9679, 1388, 2.6, 99.9, 7.0, 0.865,
                            99.8, 3.5, 0.031),
    },
}


def write(tmp_path, data, name="fast_dp.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def test_constructed_fast_dp_json_gives_the_normalised_keys(tmp_path):
    path = write(tmp_path, CONSTRUCTED)
    assert fast_dp.detect(path)
    result = fast_dp.parse(path)
    assert result["format"] == "fast_dp_json"
    assert result["program"]["name"] == "fast_dp"
    assert result["program"]["command_line"] == "fast_dp BAZ2BA-x828_1_0001.cbf"
    assert result["space_group"] == "C 2 2 21"
    assert result["cell"] == {"a": 83.09, "b": 96.79, "c": 57.95,
                              "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    assert result["wavelength"] is None  # the documented layout has none
    assert result["refined_beam"] == [144.43, 126.07]
    overall, inner, outer = (result["shells"][s] for s in ("overall", "inner", "outer"))
    assert tuple(overall) == SHELL_KEYS
    assert (overall["resolution_low"], overall["resolution_high"]) == (42.66, 1.9)
    assert (overall["r_merge"], overall["r_meas_all"], overall["cc_half"]) == (0.048, 0.057,
                                                                              0.999)
    assert (overall["n_observations"], overall["n_unique"]) == (125167, 18787)
    assert isinstance(overall["n_unique"], int)
    assert (inner["resolution_high"], inner["cc_anomalous"]) == (8.5, -0.059)
    assert (outer["completeness"], outer["multiplicity"], outer["mean_i_over_sigma"]) == (
        99.9, 7.0, 2.6)
    assert (outer["anomalous_completeness"], outer["anomalous_multiplicity"]) == (99.8, 3.5)
    assert overall["r_pim_all"] is None and overall["dano_over_sigdano"] is None
    json.dumps(result)


def test_missing_shells_are_empty_not_an_error(tmp_path):
    data = json.loads(json.dumps(CONSTRUCTED))
    del data["scaling_statistics"]["innerShell"]
    result = fast_dp.parse(write(tmp_path, data))
    assert set(result["shells"]["inner"].values()) == {None}


@pytest.mark.parametrize("data, message", [
    ('{"spacegroup": "P 1", "scaling_statistics": {"overall": {', "malformed or truncated JSON"),
    ({"spacegroup": "P 1"}, "no 'scaling_statistics'"),
    ({"spacegroup": "P 1", "scaling_statistics": {"innerShell": {}}}, "no 'overall' shell"),
    ({**CONSTRUCTED, "unit_cell": [1, 2, 3]}, "'unit_cell' must be a list of 6 numbers"),
    ({**CONSTRUCTED, "spacegroup": 5}, "'spacegroup' must be text"),
    ({**CONSTRUCTED, "scaling_statistics": {"overall": {"n_tot_obs": "many"}}},
     "overall.n_tot_obs is not a number"),
    ({**CONSTRUCTED, "scaling_statistics": {"overall": {"n_tot_obs": 12.5}}},
     "overall.n_tot_obs is not an integer"),
])
def test_bad_files_give_a_clear_error(tmp_path, data, message):
    with pytest.raises(ParseError, match=message) as info:
        fast_dp.parse(write(tmp_path, data))
    assert str(info.value).startswith("fast_dp.json: ")


def test_detect_only_fast_dp_json(tmp_path):
    from pathlib import Path

    import mmcat_mx

    data = Path(mmcat_mx.__file__).parent / "realdata"
    assert not fast_dp.detect(data / "experiments_thaum_0500.json")
    assert not fast_dp.detect(data / "ispyb.xml")
    assert not fast_dp.detect(write(tmp_path, {"spacegroup": "P 1"}, "other.json"))
