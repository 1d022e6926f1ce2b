"""The plugin as the core sees it: enabled, its dictionary entries, API route, menu and panel."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from mmcat.dictionary import set_parameters
from mmcat.models import ParameterType
from mmcat.plugins.manager import enabled_plugins
from mmcat.testing import DatasetFactory

from mmcat_xyz.models import Scan

pytestmark = pytest.mark.django_db


def test_plugin_is_enabled_and_passes_the_system_checks():
    assert "xyz" in {config.label for config in enabled_plugins()}
    call_command("check", fail_level="ERROR")  # mmcat.E001/E002/E003 would fail here


# --- data dictionary --------------------------------------------------------------------------


def test_parameter_types_exist_after_migrate():
    types = {p.key: p for p in ParameterType.objects.filter(technique="xyz")}
    assert set(types) == {"xyz_energy", "xyz_points", "xyz_mode"}
    assert types["xyz_energy"].unit == "keV"
    assert types["xyz_points"].value_kind == "integer"
    assert types["xyz_mode"].choices == ["fluorescence", "transmission"]


def test_values_are_validated_and_converted_to_the_canonical_unit(xyz_dataset):
    set_parameters(xyz_dataset, {"xyz_energy": {"value": 12400, "unit": "eV"},
                                 "xyz_points": 8, "xyz_mode": "transmission"})
    values = {p.type.key: p.value for p in xyz_dataset.parameters.select_related("type")}
    assert values == {"xyz_energy": pytest.approx(12.4), "xyz_points": 8,
                      "xyz_mode": "transmission"}
    with pytest.raises(ValidationError, match="above the maximum"):
        set_parameters(xyz_dataset, {"xyz_energy": 500})
    with pytest.raises(ValidationError, match="not one of"):
        set_parameters(xyz_dataset, {"xyz_mode": "sideways"})


# --- API --------------------------------------------------------------------------------------


def test_api_lists_only_visible_scans(member, xyz_dataset, other_session, client_of):
    mine = Scan.objects.create(dataset=xyz_dataset, points=8, peak_position=0.75,
                               peak_counts=1210, total_counts=3258)
    theirs = Scan.objects.create(dataset=DatasetFactory(session=other_session, technique="xyz"),
                                 points=1, peak_position=0, peak_counts=1, total_counts=1)
    client = client_of(member)

    response = client.get("/api/v1/xyz/scans/")
    assert response.status_code == 200
    assert [row["dataset"] for row in response.json()["results"]] == [mine.pk]

    assert client.get(f"/api/v1/xyz/scans/{mine.pk}/").json()["peak_counts"] == 1210
    assert client.get(f"/api/v1/xyz/scans/{theirs.pk}/").status_code == 404  # not 403


def test_api_shows_an_outsider_nothing(outsider, xyz_dataset, client_of):
    scan = Scan.objects.create(dataset=xyz_dataset, points=1, peak_position=0, peak_counts=1,
                               total_counts=1)
    client = client_of(outsider)
    assert client.get("/api/v1/xyz/scans/").json()["count"] == 0
    assert client.get(f"/api/v1/xyz/scans/{scan.pk}/").status_code == 404


# --- web: menu, session panel ---------------------------------------------------------------


def test_menu_item_and_index_page(client, member, xyz_dataset):
    client.force_login(member)
    home = client.get(reverse("home"))
    assert reverse("xyz:index").encode() in home.content
    assert client.get(reverse("xyz:index")).status_code == 200


def test_session_page_loads_the_panel_lazily(client, member, xyz_session):
    client.force_login(member)
    page = client.get(reverse("session-detail", args=[xyz_session.pk]))
    panel_url = reverse("xyz:session-panel", args=[xyz_session.pk])
    assert f'hx-get="{panel_url}"'.encode() in page.content


def test_no_panel_on_an_instrument_without_the_technique(client, member, session):
    client.force_login(member)  # the core's session fixture: an MX-only beamline
    page = client.get(reverse("session-detail", args=[session.pk]))
    assert b"/xyz/sessions/" not in page.content


def test_panel_renders_for_a_member(client, member, xyz_dataset):
    Scan.objects.create(dataset=xyz_dataset, points=8, peak_position=0.75, peak_counts=1210,
                        total_counts=3258)
    client.force_login(member)
    response = client.get(reverse("xyz:session-panel", args=[xyz_dataset.session_id]))
    assert response.status_code == 200
    assert xyz_dataset.name.encode() in response.content
    assert b"<html" not in response.content  # a fragment, not a page


def test_panel_is_404_for_an_outsider(client, outsider, xyz_session):
    client.force_login(outsider)
    response = client.get(reverse("xyz:session-panel", args=[xyz_session.pk]))
    assert response.status_code == 404


def test_panel_limit_comes_from_the_plugin_settings(client, member, xyz_session, settings):
    for _ in range(3):
        dataset = DatasetFactory(session=xyz_session, technique="xyz")
        Scan.objects.create(dataset=dataset, points=1, peak_position=0, peak_counts=1,
                            total_counts=1)
    settings.MMCAT_PLUGIN_SETTINGS = {"xyz": {"panel_limit": 2}}
    client.force_login(member)
    response = client.get(reverse("xyz:session-panel", args=[xyz_session.pk]))
    assert b"Showing 2 of 3 XYZ scans" in response.content
