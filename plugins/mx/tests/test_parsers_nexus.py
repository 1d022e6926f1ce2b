"""NeXus/NXmx header parser: on the real DLS I04 Eiger master (README §2.11; licence not
visible, so it is read from shared/reference and the test skips when it is absent) and on a
small NXmx-like file made in the test with h5py."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from mmcat.plugins.types import ParseError
from mmcat_mx.parsers import nexus

SHARED = Path(__file__).resolve().parents[3].parent / "shared/reference/realdata/images"
THERM = SHARED / "Therm_6_2.nxs"
needs_therm = pytest.mark.skipif(not THERM.is_file(), reason=f"{THERM} is absent")


@pytest.fixture(scope="module")
def therm():
    return nexus.parse(THERM)


@needs_therm
def test_therm_entry_and_instrument(therm):
    assert nexus.detect(THERM)
    assert therm["format"] == "nexus_nxmx"
    assert therm["definition"] == "NXmx"
    assert (therm["start_time"], therm["end_time"]) == ("2019-02-14T14:25:57",
                                                       "2019-02-14T14:26:24")
    assert therm["instrument"] == "I04"
    assert therm["source"] == {"name": "Diamond Light Source", "short_name": "DLS",
                               "type": "Synchrotron X-ray Source"}
    assert therm["wavelength"] == pytest.approx(0.9802735610373182, rel=1e-12)
    assert therm["flux"] == pytest.approx(2.098167e9, rel=1e-6)
    assert therm["transmission"] == pytest.approx(0.011187)


@needs_therm
def test_therm_detector(therm):
    detector = therm["detector"]
    assert (detector["description"], detector["type"]) == ("Eiger 16M", "Pixel")
    assert detector["sensor_material"] == "Silicon"
    assert detector["sensor_thickness"] == pytest.approx(0.45)  # 0.00045 m
    assert detector["pixel_size"] == pytest.approx([0.075, 0.075])  # 7.5e-05 m
    assert detector["image_size"] == [4148, 4362]
    assert detector["saturation_value"] == 65535
    assert detector["count_time"] == pytest.approx(0.008)
    assert detector["nimages"] == 488
    assert therm["beam_centre"] == pytest.approx([2216.0555, 2300.4105], abs=1e-4)
    assert therm["detector_distance"] == pytest.approx(213.95897)  # 0.21395897 m


@needs_therm
def test_therm_scan_and_missing_data_file(therm):
    assert therm["scan"] == {"axis": "omega", "start": 174.0, "increment": 0.25,
                             "last": 295.75, "n_values": 488, "vector": [-1.0, 0.0, 0.0]}
    assert therm["data"]["shape"] == [488, 4362, 4148]
    assert therm["data"]["virtual"] is True
    assert therm["data"]["files"] == [{"link": "data_000001", "file": "Therm_6_2_000001.h5",
                                       "present": False}]
    assert therm["number_of_images"] == 488


@needs_therm
def test_therm_parameters(therm):
    assert therm["parameters"] == pytest.approx({
        "wavelength": 0.9802735610373182, "exposure_time": 0.008, "oscillation_start": 174.0,
        "oscillation_range": 0.25, "number_of_images": 488, "detector_distance": 213.95897,
        "transmission": 1.1187, "flux": 2098167115.9861972, "detector": "Eiger 16M"})
    json.dumps(therm)


def make_nxmx(path: Path) -> Path:
    """A small, test-made NXmx-like master: 4 images of 40 x 50, omega 10.0 + 0.1 per image."""
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry["definition"] = "NXmx"
        instrument = entry.create_group("instrument")
        instrument.attrs["NX_class"] = "NXinstrument"
        beam = instrument.create_group("beam")
        beam.attrs["NX_class"] = "NXbeam"
        beam["incident_wavelength"] = 1.0
        beam["incident_wavelength"].attrs["units"] = "angstrom"
        detector = instrument.create_group("detector")
        detector.attrs["NX_class"] = "NXdetector"
        detector["description"] = "Test 40x50"
        detector["detector_distance"] = 250.0
        detector["detector_distance"].attrs["units"] = "mm"
        detector["count_time"] = 10.0
        detector["count_time"].attrs["units"] = "ms"
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "data"})
        data["data"] = np.zeros((4, 40, 50), dtype="uint16")
        omega = data.create_dataset("omega", data=10.0 + 0.1 * np.arange(4))
        omega.attrs.update({"transformation_type": "rotation", "units": "deg"})
    return path


def test_test_made_nxmx(tmp_path):
    result = nexus.parse(make_nxmx(tmp_path / "made.nxs"))
    assert result["parameters"] == pytest.approx({
        "wavelength": 1.0, "exposure_time": 0.01, "oscillation_start": 10.0,
        "oscillation_range": 0.1, "number_of_images": 4, "detector_distance": 250.0,
        "detector": "Test 40x50"})
    assert result["detector"]["image_size"] == [50, 40]


def test_not_nexus_or_truncated(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(ParseError, match="plain.h5: no NXentry"):
        nexus.parse(plain)
    made = make_nxmx(tmp_path / "made.nxs")
    cut = tmp_path / "cut.nxs"
    cut.write_bytes(made.read_bytes()[:1500])
    with pytest.raises(ParseError, match="cut.nxs: "):
        nexus.parse(cut)
    text = tmp_path / "text.nxs"
    text.write_text("hello")
    with pytest.raises(ParseError, match="not an HDF5 file"):
        nexus.parse(text)


def test_unknown_units_are_an_error(tmp_path):
    made = make_nxmx(tmp_path / "made.nxs")
    with h5py.File(made, "a") as f:
        f["entry/instrument/detector/detector_distance"].attrs["units"] = "furlong"
    with pytest.raises(ParseError, match="unknown unit 'furlong'"):
        nexus.parse(made)
