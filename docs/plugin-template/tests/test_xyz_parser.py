"""The parser on its own, then through the core (``mmcat parse`` uses the same path)."""

import pytest
from mmcat.parsing import parse_file
from mmcat.plugins.types import ParseError

from mmcat_xyz import parser


def test_parses_the_sample_file(sample_file):
    assert parser.detect(sample_file)
    result = parser.parse(sample_file)
    assert result["format"] == "xyz_scan"
    assert (result["energy"], result["energy_unit"]) == (12.4, "keV")
    assert result["mode"] == "fluorescence"
    assert result["points"] == len(result["counts"]) == 8
    assert (result["peak_position"], result["peak_counts"]) == (0.75, 1210)


@pytest.mark.parametrize(("text", "message"), [
    ("HELLO\n", "not an XYZ-SCAN file"),
    ("XYZ-SCAN 1\nmode = fluorescence\ndata\n0 1\n", "missing header key(s): energy"),
    ("XYZ-SCAN 1\nenergy = 12\nmode = fluorescence\ndata\n", "no data points"),
    ("XYZ-SCAN 1\nenergy = 12\nmode = fluorescence\ndata\n0 lots\n", "line 5: 'lots'"),
    ("XYZ-SCAN 1\nenergy = 12\nmode = sideways\ndata\n0 1\n", "mode 'sideways'"),
])
def test_rejects_a_bad_file_with_a_clear_message(tmp_path, text, message):
    bad = tmp_path / "bad.xyz"
    bad.write_text(text)
    with pytest.raises(ParseError, match="bad.xyz: .*") as excinfo:
        parser.parse(bad)
    assert message in str(excinfo.value)


def test_detect_says_no_to_other_files(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("DUMMY v1\n")
    assert not parser.detect(other)
    assert not parser.detect(tmp_path / "missing.xyz")


@pytest.mark.django_db
def test_the_core_finds_the_parser(sample_file, tmp_path):
    name, result = parse_file(sample_file)
    assert name == "xyz_scan" and result["points"] == 8
    bad = tmp_path / "bad.xyz"
    bad.write_text("XYZ-SCAN 1\n")
    with pytest.raises(ParseError):
        parse_file(bad, parser="xyz_scan")
