"""``/api/v1/shipping/``: the permission matrix, validation (400 naming the field), transitions
(409 with the reason), retries, the scanner endpoint and constant query counts."""

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmcat.models import ProposalMember
from mmcat.testing import (
    BeamlineFactory,
    PersonFactory,
    ProposalFactory,
    SampleFactory,
    SessionFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not installed"),
]

if apps.is_installed("mmcat_shipping"):
    from mmcat_shipping import services, states
    from mmcat_shipping.models import Container, Dewar, SamplePosition, Shipment, TransportEvent

API = "/api/v1/shipping"


@pytest.fixture
def world(member):
    """A proposal with ``member``, a shipment with a dewar, a puck and a sample."""
    proposal = ProposalFactory()
    ProposalMember.objects.create(proposal=proposal, person=member, role="member")
    shipment = services.create_shipment(proposal, name="s1", by=member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    puck = services.add_container(dewar, code="P1", by=member)
    sample = SampleFactory(proposal=proposal)
    position = services.place_sample(puck, 1, sample)
    return {"proposal": proposal, "shipment": shipment, "dewar": dewar, "puck": puck,
            "sample": sample, "position": position}


@pytest.fixture
def staff():
    return PersonFactory(role="staff")


@pytest.fixture
def outsider():
    return PersonFactory()


def urls(world):
    return [f"{API}/shipments/{world['shipment'].pk}/",
            f"{API}/shipments/{world['shipment'].pk}/history/",
            f"{API}/dewars/{world['dewar'].pk}/",
            f"{API}/dewars/{world['dewar'].pk}/history/",
            f"{API}/containers/{world['puck'].pk}/",
            f"{API}/positions/{world['position'].pk}/"]


# --- permissions --------------------------------------------------------------------------------


def test_members_and_staff_see_outsiders_get_404(world, member, staff, outsider, client_of):
    for person, code in ((member, 200), (staff, 200), (outsider, 404)):
        client = client_of(person)
        for url in urls(world):
            assert client.get(url).status_code == code, (person, url)
    anonymous = client_of(outsider)
    anonymous.credentials()
    assert anonymous.get(f"{API}/shipments/").status_code in (401, 403)


def test_lists_show_only_visible_things(world, member, outsider, client_of):
    for endpoint in ("shipments", "dewars", "containers", "positions"):
        assert client_of(member).get(f"{API}/{endpoint}/").json()["count"] == 1
        assert client_of(outsider).get(f"{API}/{endpoint}/").json()["count"] == 0


def test_outsiders_cannot_write(world, outsider, client_of):
    client = client_of(outsider)
    shipment, dewar, puck = world["shipment"], world["dewar"], world["puck"]
    assert client.post(f"{API}/shipments/", {"proposal": world["proposal"].pk,
                                             "name": "x"}).status_code == 400
    assert client.post(f"{API}/dewars/", {"shipment": shipment.pk,
                                          "code": "x"}).status_code == 400
    assert client.post(f"{API}/containers/", {"dewar": dewar.pk, "code": "x"}).status_code == 400
    assert client.patch(f"{API}/shipments/{shipment.pk}/", {"name": "y"}).status_code == 404
    assert client.delete(f"{API}/shipments/{shipment.pk}/").status_code == 404
    assert client.delete(f"{API}/containers/{puck.pk}/").status_code == 404
    assert client.post(f"{API}/dewars/{dewar.pk}/transition/",
                       {"status": "labels_printed"}).status_code == 404
    assert Shipment.objects.count() == Dewar.objects.count() == Container.objects.count() == 1


def test_beamline_staff_see_but_cannot_edit(world, client_of):
    local = PersonFactory()
    beamline = BeamlineFactory()
    beamline.staff.add(local)
    SessionFactory(proposal=world["proposal"], beamline=beamline)
    client = client_of(local)
    url = f"{API}/shipments/{world['shipment'].pk}/"
    assert client.get(url).status_code == 200
    assert client.patch(url, {"name": "y"}).status_code == 403


# --- shipments ----------------------------------------------------------------------------------


def test_create_shipment_and_retry(world, member, client_of):
    session = SessionFactory(proposal=world["proposal"])
    body = {"proposal": world["proposal"].pk, "name": "s2", "safety_level": "yellow",
            "sessions": [session.pk]}
    client = client_of(member)
    first = client.post(f"{API}/shipments/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "opened" and first.json()["sessions"] == [session.pk]
    again = client.post(f"{API}/shipments/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    clash = client.post(f"{API}/shipments/", {**body, "safety_level": "red"}, format="json")
    assert clash.status_code == 400 and "name" in clash.json()
    assert Shipment.objects.count() == 2


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "x", "safety_level": "purple"}, "safety_level"),
    ({"name": "x", "sessions": [999999]}, "sessions"),
    ({"name": "x", "proposal": 999999}, "proposal"),
])
def test_create_shipment_400_names_the_field(world, member, client_of, body, field):
    body = {"proposal": world["proposal"].pk, **body}
    response = client_of(member).post(f"{API}/shipments/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()


def test_foreign_session_is_400(world, member, client_of):
    other = SessionFactory()
    ProposalMember.objects.create(proposal=other.proposal, person=member)
    response = client_of(member).post(f"{API}/shipments/", {
        "proposal": world["proposal"].pk, "name": "x", "sessions": [other.pk]}, format="json")
    assert response.status_code == 400 and "another proposal" in response.json()["sessions"][0]


def test_update_and_delete_shipment(world, member, client_of):
    client = client_of(member)
    url = f"{API}/shipments/{world['shipment'].pk}/"
    response = client.patch(url, {"comments": "hi", "safety_level": "red"}, format="json")
    assert response.status_code == 200 and response.json()["safety_level"] == "red"
    assert client.delete(url).status_code == 204
    assert not Shipment.objects.exists()


# --- transitions --------------------------------------------------------------------------------


def ready_and_send(client, world):
    dewar = world["dewar"]
    assert client.post(f"{API}/dewars/{dewar.pk}/transition/",
                       {"status": "labels_printed"}).status_code == 200
    response = client.post(f"{API}/shipments/{world['shipment'].pk}/transition/",
                           {"status": "ready"})
    assert response.status_code == 200, response.json()
    response = client.post(f"{API}/shipments/{world['shipment'].pk}/transition/",
                           {"status": "sent", "comment": "DHL pickup"})
    assert response.status_code == 200 and response.json()["status"] == "sent"


def test_the_whole_trip_through_the_api(world, member, staff, client_of):
    user, facility = client_of(member), client_of(staff)
    dewar = world["dewar"]
    ready_and_send(user, world)
    transition = f"{API}/dewars/{dewar.pk}/transition/"
    # users cannot do facility transitions
    response = user.post(transition, {"status": "at_facility"})
    assert response.status_code == 403
    for to in ("at_facility", "at_beamline", "processing", "back_in_store"):
        response = facility.post(transition, {"status": to, "location": "R1"})
        assert response.status_code == 200 and response.json()["status"] == to
    assert user.post(transition, {"status": "dispatch_requested"}).status_code == 200
    response = facility.post(transition, {"status": "sent_back", "tracking_number": "1Z9"})
    assert response.status_code == 200
    assert response.json()["tracking_number_from_facility"] == "1Z9"
    shipment = user.get(f"{API}/shipments/{world['shipment'].pk}/").json()
    assert shipment["status"] == "returned" and shipment["editable"] is False
    history = user.get(f"{API}/dewars/{dewar.pk}/history/").json()["results"]
    assert [e["to_status"] for e in history][:3] == ["sent_back", "dispatch_requested",
                                                     "back_in_store"]
    assert history[0]["by"] == str(staff)


def test_refused_transition_is_409_with_the_reason(world, member, client_of):
    response = client_of(member).post(f"{API}/dewars/{world['dewar'].pk}/transition/",
                                      {"status": "ready"})
    assert response.status_code == 409
    assert "opened to ready" in response.json()["status"][0]
    response = client_of(member).post(f"{API}/shipments/{world['shipment'].pk}/transition/",
                                      {"status": "ready"})
    assert response.status_code == 409 and "Print the labels" in response.json()["detail"]
    assert not TransportEvent.objects.filter(to_status="ready").exists()


def test_unknown_status_is_400(world, member, client_of):
    response = client_of(member).post(f"{API}/dewars/{world['dewar'].pk}/transition/",
                                      {"status": "lost"})
    assert response.status_code == 400 and "status" in response.json()
    response = client_of(member).post(f"{API}/dewars/{world['dewar'].pk}/transition/", {})
    assert response.status_code == 400 and "status" in response.json()


def test_a_retried_transition_changes_nothing(world, member, client_of):
    client = client_of(member)
    url = f"{API}/dewars/{world['dewar'].pk}/transition/"
    assert client.post(url, {"status": "labels_printed"}).status_code == 200
    assert client.post(url, {"status": "labels_printed"}).status_code == 200
    assert TransportEvent.objects.filter(to_status="labels_printed").count() == 1


def test_after_sending_nothing_can_be_added_or_deleted(world, member, client_of):
    client = client_of(member)
    ready_and_send(client, world)
    shipment, dewar, puck = world["shipment"], world["dewar"], world["puck"]
    assert client.delete(f"{API}/shipments/{shipment.pk}/").status_code == 400
    response = client.post(f"{API}/containers/", {"dewar": dewar.pk, "code": "late"})
    assert response.status_code == 400 and "shipment" in response.json()
    assert client.delete(f"{API}/positions/{world['position'].pk}/").status_code == 400
    response = client.patch(f"{API}/shipments/{shipment.pk}/", {"safety_level": "red"})
    assert response.status_code == 400 and "safety_level" in response.json()
    assert Container.objects.count() == 1 and SamplePosition.objects.count() == 1
    assert puck.positions.count() == 1


# --- dewars, containers, positions -----------------------------------------------------------


def test_dewar_container_position_crud_and_retries(world, member, client_of):
    client = client_of(member)
    response = client.post(f"{API}/dewars/", {"shipment": world["shipment"].pk, "code": "D2",
                                              "weight": 10})
    assert response.status_code == 201 and response.json()["barcode"].startswith("MMC-D-")
    again = client.post(f"{API}/dewars/", {"shipment": world["shipment"].pk, "code": "D2",
                                           "weight": 10})
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    dewar_id = response.json()["id"]
    response = client.post(f"{API}/containers/", {"dewar": dewar_id, "code": "S1",
                                                  "type": "spine"})
    assert response.status_code == 201 and response.json()["capacity"] == 10
    container_id = response.json()["id"]
    assert client.post(f"{API}/containers/", {"dewar": dewar_id, "code": "S1",
                                              "type": "spine"}).status_code == 200
    sample = SampleFactory(proposal=world["proposal"])
    body = {"container": container_id, "position": 10, "sample": sample.pk}
    assert client.post(f"{API}/positions/", body).status_code == 201
    assert client.post(f"{API}/positions/", body).status_code == 200
    assert SamplePosition.objects.filter(container_id=container_id).count() == 1
    assert client.patch(f"{API}/dewars/{dewar_id}/", {"code": "D3"}).json()["code"] == "D3"
    assert client.delete(f"{API}/dewars/{dewar_id}/").status_code == 204
    assert not Container.objects.filter(pk=container_id).exists()


@pytest.mark.parametrize("endpoint, body, field", [
    ("dewars", {"code": "D1", "weight": 5}, "code"),  # not a retry: differs
    ("dewars", {"code": "D9", "weight": -2}, "weight"),
    ("containers", {"code": "X", "type": "other"}, "capacity"),
    ("containers", {"code": "X", "type": "unipuck", "capacity": 5}, "capacity"),
    ("containers", {"code": "X", "type": "box"}, "type"),
    ("positions", {"position": 17}, "position"),
    ("positions", {"position": 1}, "position"),
])
def test_400_names_the_field(world, member, client_of, endpoint, body, field):
    parent = {"dewars": {"shipment": world["shipment"].pk},
              "containers": {"dewar": world["dewar"].pk},
              "positions": {"container": world["puck"].pk,
                            "sample": SampleFactory(proposal=world["proposal"]).pk}}[endpoint]
    response = client_of(member).post(f"{API}/{endpoint}/", {**parent, **body}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()


def test_another_proposals_sample_is_400(world, member, client_of):
    foreign = SampleFactory()
    response = client_of(member).post(f"{API}/positions/", {
        "container": world["puck"].pk, "position": 2, "sample": foreign.pk})
    assert response.status_code == 400 and "sample" in response.json()


def test_yellow_shipment_cannot_queue_for_unattended(world, member, client_of):
    client = client_of(member)
    client.patch(f"{API}/shipments/{world['shipment'].pk}/", {"safety_level": "yellow"})
    response = client.post(f"{API}/containers/", {"dewar": world["dewar"].pk, "code": "Q",
                                                  "queue_for_unattended": True})
    assert response.status_code == 400 and "queue_for_unattended" in response.json()


# --- lab contacts -------------------------------------------------------------------------------


def test_lab_contacts(world, member, outsider, client_of):
    body = {"proposal": world["proposal"].pk, "name": "Ann", "email": "ann@lab.example",
            "laboratory": "Lab", "address": "1 Road", "city": "Town", "postcode": "1",
            "country": "FR"}
    response = client_of(member).post(f"{API}/contacts/", body)
    assert response.status_code == 201
    url = f"{API}/contacts/{response.json()['id']}/"
    assert client_of(member).get(url).status_code == 200
    assert client_of(outsider).get(url).status_code == 404
    assert client_of(outsider).post(f"{API}/contacts/", body).status_code == 400
    duplicate = client_of(member).post(f"{API}/contacts/", body)
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    response = client_of(member).patch(url, {"email": "nope"})
    assert response.status_code == 400 and "email" in response.json()
    assert client_of(member).delete(url).status_code == 204


# --- scanner ----------------------------------------------------------------------------------


def test_scanning_is_for_staff_and_service_accounts(world, member, client_of):
    body = {"barcode": world["dewar"].barcode, "location": "STORE-1"}
    assert client_of(member).post(f"{API}/scan/", body).status_code == 404
    assert client_of(PersonFactory()).post(f"{API}/scan/", body).status_code == 404


def test_scan_infers_the_status(world, member, client_of):
    ready_and_send(client_of(member), world)
    scanner = client_of(PersonFactory(is_service=True))
    barcode = world["dewar"].barcode
    beamline = BeamlineFactory(name="ID30A-1")

    def scan(location, **extra):
        return scanner.post(f"{API}/scan/", {"barcode": barcode, "location": location,
                                             **extra})

    response = scan("STORE-1")
    assert response.status_code == 200
    assert response.json()["dewar"]["status"] == "at_facility"
    assert response.json()["shipment"]["status"] == "at_facility"
    assert response.json()["dewar"]["arrived_at"]
    again = scan("STORE-1")  # a retry
    assert again.status_code == 200 and again.json()["event"] is None
    assert scan("STORE-2").json()["dewar"]["location"] == "STORE-2"  # moved racks
    assert scan(beamline.name).json()["dewar"]["status"] == "at_beamline"
    assert scan("ID30A-1", status="processing").json()["dewar"]["status"] == "processing"
    assert scan("STORE-3").json()["dewar"]["status"] == "back_in_store"
    refused = scan("STORE-3", status="opened")
    assert refused.status_code == 409
    response = scanner.post(f"{API}/scan/", {"barcode": world["puck"].barcode,
                                             "location": "STORE-4"})
    assert response.json()["dewar"]["location"] == "STORE-4"  # a puck's barcode: its dewar
    response = scanner.post(f"{API}/scan/", {"barcode": "NOPE", "location": "X"})
    assert response.status_code == 400 and "barcode" in response.json()
    response = scanner.post(f"{API}/scan/", {"barcode": barcode})
    assert response.status_code == 400 and "location" in response.json()


def test_scan_of_an_unsent_dewar_is_409(world, staff, client_of):
    response = client_of(staff).post(f"{API}/scan/", {"barcode": world["dewar"].barcode,
                                                      "location": "STORE-1"})
    assert response.status_code == 409
    assert Dewar.objects.get(pk=world["dewar"].pk).status == "opened"


# --- query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["shipments", "dewars", "containers", "positions",
                                      "contacts"])
def test_lists_take_a_constant_number_of_queries(world, member, client_of, endpoint):
    client = client_of(member)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{API}/{endpoint}/").status_code == 200
        return len(captured)

    proposal = world["proposal"]
    services.create_lab_contact(proposal, name="C1", email="c@lab.example", laboratory="L",
                                address="a", city="c", postcode="1", country="FR")
    count()  # warm-up (token bookkeeping)
    before = count()
    services.create_lab_contact(proposal, name="C2", email="c@lab.example", laboratory="L",
                                address="a", city="c", postcode="1", country="FR")
    for n in range(3):
        shipment = services.create_shipment(proposal, name=f"more{n}", by=member)
        dewar = services.add_dewar(shipment, code="D", by=member)
        puck = services.add_container(dewar, code="P", by=member)
        services.place_sample(puck, 1, SampleFactory(proposal=proposal))
    assert count() == before


def test_states_may_set():
    user, staff = PersonFactory(), PersonFactory(role="staff")
    service = PersonFactory(is_service=True)
    assert states.may_set(user, "ready") and not states.may_set(user, "at_facility")
    assert states.may_set(service, "at_facility") and not states.may_set(service, "ready")
    assert states.may_set(staff, "ready") and states.may_set(staff, "sent_back")
