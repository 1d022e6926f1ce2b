"""The facility side: scanning sequences (a location, then dewars), unknown barcodes, refused
transitions, who may scan, the rack view (content, time since arrival, constant queries) and
the "Dewars" menu entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from mmcat.testing import (
    BeamlineFactory,
    PersonFactory,
    ProposalFactory,
    SampleFactory,
    get_page,
    web_client,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not enabled (MMCAT_PLUGINS)"),
]


def sent_dewars(n=2, *, proposal=None, name="Trip_1", status="sent"):
    """``n`` dewars of a new shipment, each with a puck of one sample, moved to ``status``
    (opened, labels_printed, ready or sent) through the state machine."""
    from mmcat_shipping import services, states

    proposal = proposal or ProposalFactory()
    pi = proposal.pi
    contact = services.create_lab_contact(
        proposal, name=f"Lab {name}", email="lab@example.org", laboratory="Lab",
        address="1 Road", city="Town", postcode="1000", country="Nowhere")
    shipment = services.create_shipment(proposal, name=name, sending_contact=contact, by=pi)
    dewars = []
    for i in range(n):
        dewar = services.add_dewar(shipment, code=f"D{i}", by=pi)
        container = services.add_container(dewar, code=f"P{i}", by=pi)
        services.place_sample(container, 1, SampleFactory(proposal=proposal, component="lyso",
                                                          name=f"{name}_{i}"))
        dewars.append(dewar)
    path = ["labels_printed", "ready", "sent"]
    for dewar in dewars:
        for step in path[:path.index(status) + 1] if status != "opened" else []:
            states.change_dewar_status(dewar, step, by=pi)
    return dewars


@pytest.fixture
def staff():
    return PersonFactory(role="staff")


@pytest.fixture
def beamline():
    return BeamlineFactory(name="i04")


def post_scan(client, code, location="", htmx=True):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("shipping:scan"), {"code": code, "location": location},
                       **headers)


# --- the shared scan() function -----------------------------------------------------------------

def test_scan_in_to_rack_then_beamline_then_back(staff, beamline):
    from mmcat_shipping.scanning import scan

    dewar = sent_dewars(1)[0]
    dewar, event = scan(staff, "rack-a3", dewar.barcode)
    assert (dewar.status, dewar.location) == ("at_facility", "RACK-A3")
    assert dewar.arrived_at is not None
    assert (event.from_status, event.to_status, event.location, event.by) == (
        "sent", "at_facility", "RACK-A3", staff)
    dewar, event = scan(staff, "I04", dewar.barcode.lower())
    assert (dewar.status, dewar.location, event.to_status) == ("at_beamline", "i04",
                                                               "at_beamline")
    dewar, event = scan(staff, "RACK-B1", dewar.barcode)
    assert (dewar.status, dewar.location, event.from_status) == ("back_in_store", "RACK-B1",
                                                                 "at_beamline")
    # rack to rack: only the location changes, and the move is in the history
    dewar, event = scan(staff, "RACK-C2", dewar.barcode)
    assert (dewar.status, dewar.location) == ("back_in_store", "RACK-C2")
    assert (event.from_status, event.to_status, event.location) == (
        "back_in_store", "back_in_store", "RACK-C2")
    assert scan(staff, "RACK-C2", dewar.barcode)[1] is None  # a retry records nothing
    dewar.refresh_from_db()
    assert (dewar.status, dewar.location) == ("back_in_store", "RACK-C2")
    assert list(dewar.events.filter(by=staff).order_by("at", "id").values_list(
        "to_status", "location")) == [("at_facility", "RACK-A3"), ("at_beamline", "i04"),
                                      ("back_in_store", "RACK-B1"), ("back_in_store", "RACK-C2")]


def test_scan_errors(staff, beamline):
    from mmcat_shipping.scanning import ScanError, scan
    from mmcat_shipping.states import TransitionError

    dewar = sent_dewars(1, status="ready")[0]
    with pytest.raises(ScanError, match="Unknown barcode MMC-D-999999"):
        scan(staff, "RACK-A1", "MMC-D-999999")
    with pytest.raises(ScanError, match="not a beamline or a store location"):
        scan(staff, "somewhere", dewar.barcode)
    with pytest.raises(ScanError, match="Scan a location first"):
        scan(staff, "  ", dewar.barcode)
    with pytest.raises(TransitionError, match="cannot go from ready to at_facility"):
        scan(staff, "RACK-A1", dewar.barcode)
    dewar.refresh_from_db()
    assert (dewar.status, dewar.location) == ("ready", "")


def test_scan_permissions(beamline):
    from django.core.exceptions import PermissionDenied
    from mmcat_shipping.scanning import ScanError, scan

    dewar = sent_dewars(1)[0]
    with pytest.raises(PermissionDenied):
        scan(PersonFactory(), "RACK-A1", dewar.barcode)
    with pytest.raises(PermissionDenied):
        scan(dewar.shipment.proposal.pi, "RACK-A1", dewar.barcode)
    local_contact = PersonFactory()
    BeamlineFactory(name="i24").staff.add(local_contact)
    with pytest.raises(ScanError, match="i04 is not one of your beamlines"):
        scan(local_contact, "i04", dewar.barcode)
    dewar, _ = scan(local_contact, "RACK-A1", dewar.barcode)
    assert dewar.status == "at_facility"


# --- the scanning page ----------------------------------------------------------------------------

def test_scanning_page_sequence(staff, beamline):
    one, two = sent_dewars(2)
    client = web_client(staff)
    queries, html = get_page(client, reverse("shipping:scan"))
    assert 'id="scan-code"' in html and "autofocus" in html and "No scans yet." in html

    response = post_scan(client, "rack-a3")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Location set: store location RACK-A3." in html
    assert 'hx-swap-oob="true"' in html and 'name="location" value="RACK-A3"' in html

    for dewar in (one, two):
        html = post_scan(client, dewar.barcode, "RACK-A3").content.decode()
        assert dewar.barcode in html and dewar.shipment.proposal.reference in html
        assert "At facility at RACK-A3" in html
        assert 'class="scan-line ok"' in html
        assert 'value="RACK-A3"' in html  # the location is kept
    one.refresh_from_db()
    two.refresh_from_db()
    assert {one.status, two.status} == {"at_facility"}

    html = post_scan(client, "I04", "RACK-A3").content.decode()
    assert "Location set: beamline i04." in html and 'value="i04"' in html
    html = post_scan(client, one.barcode, "i04").content.decode()
    assert "At beamline at i04" in html
    html = post_scan(client, one.barcode, "i04").content.decode()
    assert "Already there (at beamline at i04): nothing changed." in html
    one.refresh_from_db()
    assert (one.status, one.location) == ("at_beamline", "i04")

    # a reload shows the user's recent scans
    _, html = get_page(client, reverse("shipping:scan"))
    assert html.count('class="scan-line ok"') == 3 and "At beamline at i04" in html


def test_scanning_page_errors(staff):
    opened = sent_dewars(1, status="ready")[0]
    client = web_client(staff)
    html = post_scan(client, "MMC-D-424242", "RACK-A1").content.decode()
    assert "Unknown barcode MMC-D-424242" in html and 'class="scan-line error"' in html
    assert 'value="RACK-A1"' in html  # an error keeps the location
    html = post_scan(client, opened.barcode, "").content.decode()
    assert "Scan a location first" in html
    html = post_scan(client, opened.barcode, "RACK-A1").content.decode()
    assert "cannot go from ready to at_facility" in html and 'role="alert"' in html
    container = opened.containers.get()
    html = post_scan(client, container.barcode, "RACK-A1").content.decode()
    assert "is a container barcode" in html
    html = post_scan(client, "what?", "RACK-A1").content.decode()
    assert "is not a beamline or a store location" in html
    opened.refresh_from_db()
    assert opened.status == "ready"


def test_scanning_page_without_javascript_renders_the_page(staff):
    dewar = sent_dewars(1)[0]
    client = web_client(staff)
    response = post_scan(client, dewar.barcode, "RACK-Z9", htmx=False)
    html = response.content.decode()
    assert "<h1>Scan dewars</h1>" in html and "At facility at RACK-Z9" in html
    assert 'name="location" value="RACK-Z9"' in html


def test_scanning_page_permissions(staff, beamline):
    url = reverse("shipping:scan")
    dewar = sent_dewars(1)[0]
    assert web_client(PersonFactory()).get(url).status_code == 404
    assert web_client(dewar.shipment.proposal.pi).get(url).status_code == 404
    response = post_scan(web_client(PersonFactory()), dewar.barcode, "RACK-A1")
    assert response.status_code == 404
    dewar.refresh_from_db()
    assert dewar.status == "sent"
    assert web_client(staff).get(url).status_code == 200
    local_contact = PersonFactory()
    beamline.staff.add(local_contact)
    assert web_client(local_contact).get(url).status_code == 200
    from django.test import Client

    assert Client().get(url).status_code == 302


def test_dewars_menu_entry(staff):
    _, html = get_page(web_client(staff), reverse("home"))
    assert f'href="{reverse("shipping:scan")}"' in html and ">Dewars<" in html
    _, html = get_page(web_client(PersonFactory()), reverse("home"))
    assert ">Dewars<" not in html


# --- rack view ----------------------------------------------------------------------------------

def _arrive(dewars, user, location, days_ago):
    from mmcat_shipping.models import Dewar
    from mmcat_shipping.scanning import scan

    for dewar in dewars:
        scan(user, location, dewar.barcode)
    Dewar.objects.filter(pk__in=[d.pk for d in dewars]).update(
        arrived_at=timezone.now() - timedelta(days=days_ago, hours=4, minutes=5))


def test_since():
    from mmcat_shipping.facility_views import since

    now = timezone.now()
    assert since(now - timedelta(days=3, hours=4, minutes=59), now) == "3 d 4 h"
    assert since(now - timedelta(hours=5, minutes=12), now) == "5 h 12 min"
    assert since(now - timedelta(minutes=7, seconds=30), now) == "7 min"
    assert since(None, now) == "—"


def test_rack_view_groups_oldest_first(staff, beamline):
    newer = sent_dewars(1, name="Newer")
    older = sent_dewars(1, name="Older")
    elsewhere = sent_dewars(1, name="Beam")
    not_arrived = sent_dewars(1, name="Transit")[0]
    _arrive(newer, staff, "RACK-A1", 1)
    _arrive(older, staff, "RACK-A1", 3)
    _arrive(elsewhere, staff, "RACK-B2", 0)
    from mmcat_shipping.scanning import scan

    scan(staff, "i04", elsewhere[0].barcode)
    queries, html = get_page(web_client(staff), reverse("shipping:racks"))
    assert "Dewars at the facility <span class=\"muted\">(3)</span>" in html
    assert not_arrived.barcode not in html
    rack_a1 = html.index(">RACK-A1 <")
    beam = html.index(">i04 <")
    assert rack_a1 < beam  # groups sorted by name
    assert "RACK-B2" not in html  # the dewar left for the beamline
    assert html.index(older[0].barcode) < html.index(newer[0].barcode)  # oldest first
    assert "3 d 4 h" in html and "1 d 4 h" in html and "4 h 5 min" in html
    assert older[0].shipment.proposal.reference in html and "At beamline" in html


def test_rack_view_constant_queries(staff):
    _arrive(sent_dewars(1, name="One"), staff, "RACK-A1", 2)
    client = web_client(staff)
    few, _ = get_page(client, reverse("shipping:racks"))
    for i in range(3):
        _arrive(sent_dewars(2, name=f"More{i}"), staff, f"RACK-C{i}", i)
    many, html = get_page(client, reverse("shipping:racks"))
    assert html.count("data-barcode=") == 7
    assert many == few


def test_rack_view_permissions(staff, beamline):
    url = reverse("shipping:racks")
    assert web_client(PersonFactory()).get(url).status_code == 404
    assert web_client(staff).get(url).status_code == 200
    local_contact = PersonFactory()
    beamline.staff.add(local_contact)
    assert web_client(local_contact).get(url).status_code == 200


# --- in a real browser: a USB scanner types fast and presses Enter --------------------------------

@pytest.mark.django_db(transaction=True)
def test_scanner_types_location_then_dewars_in_a_browser(page):
    from mmcat.testing import screenshot, sign_in

    staff = PersonFactory(role="staff")
    one, two = sent_dewars(2)
    sign_in(page, staff)
    page.goto(reverse("shipping:scan"))
    field = page.locator("#scan-code")
    assert field.evaluate("el => el === document.activeElement")  # autofocused
    # a scanner types each code in a few milliseconds and presses Enter, without waiting
    for code in ["rack-a3", one.barcode, "MMC-D-999999", two.barcode]:
        page.keyboard.type(code, delay=2)
        page.keyboard.press("Enter")
    page.locator(".scan-line").nth(3).wait_for()
    lines = page.locator("#scan-log .scan-line").all_inner_texts()
    assert "Location set: store location RACK-A3." in lines[3]
    assert one.barcode in lines[2] and "At facility at RACK-A3" in lines[2]
    assert "Unknown barcode MMC-D-999999" in lines[1]
    assert two.barcode in lines[0] and "At facility at RACK-A3" in lines[0]
    assert page.locator("#scan-location-name").inner_text() == "RACK-A3"
    assert field.input_value() == ""
    screenshot(page, "shipping-scan")
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, two.status, one.location) == ("at_facility", "at_facility", "RACK-A3")
