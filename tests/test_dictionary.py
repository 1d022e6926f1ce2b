"""The data dictionary: values are validated against their type and stored in canonical units."""

import pytest
from django.core.exceptions import ValidationError

from mmcat.dictionary import coerce, set_parameters, sync_parameter_types
from mmcat.models import ParameterType, ParameterValue
from mmcat.testing import DatasetFactory

pytestmark = pytest.mark.django_db


def ptype(key):
    return ParameterType.objects.get(key=key)


def test_declared_parameter_types_are_synced_after_migrate():
    length = ptype("dummy_length")
    assert (length.unit, length.minimum, length.maximum) == ("Å", 0, 1000)
    assert length.mmcif_item == "_dummy.length"
    assert length.technique == "dummy"
    assert ptype("dummy_colour").choices == ["red", "green"]


def test_sync_updates_an_edited_type_back_to_its_declaration():
    ParameterType.objects.filter(key="dummy_length").update(unit="mm", label="changed")
    sync_parameter_types()
    assert ptype("dummy_length").unit == "Å"
    assert ptype("dummy_length").label == "Length"


@pytest.mark.parametrize(("raw", "stored"), [
    (12.5, 12.5),
    ("12.5", 12.5),
    ({"value": 1.25, "unit": "nm"}, 12.5),
    ({"value": 1.25e-9, "unit": "m"}, 12.5),
    ({"value": 12.5, "unit": "Å"}, 12.5),
])
def test_numbers_are_converted_to_the_dictionary_unit(raw, stored):
    assert coerce(ptype("dummy_length"), raw)["number"] == pytest.approx(stored)


@pytest.mark.parametrize(("key", "raw", "message"), [
    ("dummy_length", -1, "dummy_length: -1 Å is below the minimum 0 Å."),
    ("dummy_length", {"value": 1, "unit": "m"}, "is above the maximum 1000 Å"),
    ("dummy_length", {"value": 1, "unit": "s"}, "cannot convert 's' to 'Å'"),
    ("dummy_length", {"value": 1, "unit": "furlongs-ish"}, "unknown unit"),
    ("dummy_length", "abc", "expected a number"),
    ("dummy_length", True, "expected a number"),
    ("dummy_length", float("nan"), "finite"),
    ("dummy_count", 2.5, "expected an integer"),
    ("dummy_count", {"value": 2, "unit": "mm"}, "has no unit"),
    ("dummy_colour", "blue", "'blue' is not one of red, green"),
    ("dummy_when", "2026-11-24T10:00:00", "needs a time zone"),
    ("dummy_when", "yesterday", "ISO 8601"),
    ("dummy_vector", [1, "x"], "expected a number"),
    ("dummy_vector", 3, "list of numbers"),
    ("dummy_label", None, "a value is required"),
    ("dummy_label", {"value": "a", "unit": "mm"}, "takes no unit"),
    ("dummy_label", {"val": 1}, "give a value"),
])
def test_bad_values_are_rejected_with_a_message_naming_the_parameter(key, raw, message):
    with pytest.raises(ValidationError) as exc:
        coerce(ptype(key), raw)
    assert exc.value.messages[0].startswith(f"{key}:")
    assert message in exc.value.messages[0]


def test_typed_values_round_trip():
    dataset = DatasetFactory()
    set_parameters(dataset, {
        "dummy_count": 7, "dummy_label": "hello", "dummy_colour": "red",
        "dummy_when": "2026-11-24T10:00:00+01:00", "dummy_vector": {"value": [1, 2]},
    })
    values = {pv.type.key: pv.value for pv in dataset.parameters.select_related("type")}
    assert values == {"dummy_count": 7, "dummy_label": "hello", "dummy_colour": "red",
                      "dummy_when": "2026-11-24T09:00:00+00:00", "dummy_vector": [1.0, 2.0]}
    assert isinstance(values["dummy_count"], int)


def test_setting_a_parameter_again_replaces_it():
    dataset = DatasetFactory()
    set_parameters(dataset, {"dummy_length": 3})
    set_parameters(dataset, {"dummy_length": 4})
    assert ParameterValue.objects.get(dataset=dataset).number == 4


def test_one_bad_value_writes_nothing():
    dataset = DatasetFactory()
    with pytest.raises(ValidationError) as exc:
        set_parameters(dataset, {"dummy_length": 3, "dummy_count": -1, "nope": 1})
    assert set(exc.value.message_dict) == {"dummy_count", "nope"}
    assert not dataset.parameters.exists()
