"""The write services: every rule checked on the server, errors naming the field, nothing
written on a refusal, and nothing changes once the shipment is sent."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from mmcat.testing import ProposalFactory, SampleFactory, SessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not installed"),
]

if apps.is_installed("mmcat_shipping"):
    from mmcat_shipping import services, states
    from mmcat_shipping.models import (
        Container,
        Dewar,
        DewarRegistry,
        LabContact,
        SamplePosition,
        Shipment,
    )


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def contact(proposal, name="Sender", **extra):
    return LabContact.objects.create(
        proposal=proposal, name=name, email=f"{name.lower()}@lab.example", laboratory="Lab",
        address="1 Road", city="Town", postcode="1000", country="FR", **extra)


@pytest.fixture
def proposal():
    return ProposalFactory()


@pytest.fixture
def shipment(proposal):
    return services.create_shipment(proposal, name="s1", safety_level="green", by=proposal.pi)


@pytest.fixture
def dewar(shipment):
    return services.add_dewar(shipment, code="D1", by=None)


@pytest.fixture
def puck(dewar):
    return services.add_container(dewar, code="P1", type="unipuck", by=None)


def send(shipment):
    """Fill and send every dewar of ``shipment``."""
    for dewar in shipment.dewars.all():
        for container in dewar.containers.all():
            if not container.positions.exists():
                services.place_sample(container, 1, SampleFactory(proposal=shipment.proposal))
        states.change_dewar_status(dewar, "labels_printed", by=None)
    states.change_shipment_status(shipment, "ready", by=None)
    states.change_shipment_status(shipment, "sent", by=None)


# --- shipments --------------------------------------------------------------------------------


def test_create_shipment_with_sessions_and_contacts(proposal):
    sender = contact(proposal, courier="DHL", courier_account="ACC-1")
    session = SessionFactory(proposal=proposal)
    shipment = services.create_shipment(proposal, name=" ship-1 ", safety_level="yellow",
                                        sessions=[session], sending_contact=sender,
                                        by=proposal.pi)
    assert (shipment.name, shipment.status, shipment.created_by) == ("ship-1", "opened",
                                                                     proposal.pi)
    assert list(shipment.sessions.all()) == [session]
    assert (shipment.courier, shipment.courier_account) == ("DHL", "ACC-1")
    assert shipment.return_contact == sender  # defaults to the sender


@pytest.mark.parametrize("kwargs, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 46}, "name"),
    ({"safety_level": "blue"}, "safety_level"),
    ({"bogus": 1}, "bogus"),
])
def test_create_shipment_refuses_bad_fields(proposal, kwargs, field):
    kwargs = {"name": "ok", "safety_level": "green", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        services.create_shipment(proposal, by=None, **kwargs)
    assert field in errors_of(excinfo)
    assert not Shipment.objects.exists()


def test_create_shipment_refuses_duplicates_and_foreign_things(proposal, shipment):
    with pytest.raises(ValidationError) as excinfo:
        services.create_shipment(proposal, name="s1", by=None)
    assert "already has a shipment" in errors_of(excinfo)["name"][0]
    other = ProposalFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.create_shipment(proposal, name="s2", sending_contact=contact(other),
                                 return_contact=contact(other, "Back"),
                                 sessions=[SessionFactory(proposal=other)], by=None)
    assert set(errors_of(excinfo)) == {"sending_contact", "return_contact", "sessions"}
    assert Shipment.objects.count() == 1


def test_update_shipment(shipment):
    services.update_shipment(shipment, by=None, name="renamed", safety_level="red",
                             comments="fragile")
    shipment.refresh_from_db()
    assert (shipment.name, shipment.safety_level, shipment.comments) == ("renamed", "red",
                                                                         "fragile")
    with pytest.raises(ValidationError) as excinfo:
        services.update_shipment(shipment, by=None, status="sent")
    assert "status" in errors_of(excinfo)


def test_safety_level_cannot_change_once_sent(shipment, puck):
    send(shipment)
    with pytest.raises(ValidationError) as excinfo:
        services.update_shipment(shipment, by=None, safety_level="red")
    assert "safety_level" in errors_of(excinfo)
    services.update_shipment(shipment, by=None, comments="still fine")  # comments may change
    assert Shipment.objects.get(pk=shipment.pk).safety_level == "green"


def test_queued_containers_keep_the_shipment_green(shipment, dewar):
    services.add_container(dewar, code="Q", type="unipuck", queue_for_unattended=True, by=None)
    with pytest.raises(ValidationError) as excinfo:
        services.update_shipment(shipment, by=None, safety_level="yellow")
    assert "unattended" in errors_of(excinfo)["safety_level"][0]
    assert Shipment.objects.get(pk=shipment.pk).safety_level == "green"


def test_delete_shipment_only_before_sending(proposal, shipment, puck):
    other = services.create_shipment(proposal, name="s2", by=None)
    services.delete_shipment(other, by=None)
    assert not Shipment.objects.filter(pk=other.pk).exists()
    send(shipment)
    with pytest.raises(ValidationError) as excinfo:
        services.delete_shipment(shipment, by=None)
    assert "status" in errors_of(excinfo)
    assert Shipment.objects.filter(pk=shipment.pk).exists()


# --- dewars -----------------------------------------------------------------------------------


def test_add_dewar(shipment, proposal):
    services.update_shipment(shipment, by=None,
                             sending_contact=contact(proposal, default_dewar_weight=12.5))
    dewar = services.add_dewar(shipment, code="D1", by=proposal.pi)
    assert dewar.status == "opened" and dewar.weight == 12.5
    assert dewar.barcode.startswith("MMC-D-")
    assert dewar.events.get().by == proposal.pi


@pytest.mark.parametrize("kwargs, field", [
    ({"code": ""}, "code"),
    ({"code": "D1"}, "code"),  # duplicate
    ({"code": "D2", "weight": -1}, "weight"),
    ({"code": "D2", "weight": 0}, "weight"),
])
def test_add_dewar_refuses(shipment, dewar, kwargs, field):
    with pytest.raises(ValidationError) as excinfo:
        services.add_dewar(shipment, by=None, **kwargs)
    assert field in errors_of(excinfo)
    assert Dewar.objects.count() == 1


def test_registry_dewar_of_another_proposal_is_refused(shipment):
    registered = DewarRegistry.objects.create(facility_code="FAC-1")
    registered.proposals.add(ProposalFactory())
    with pytest.raises(ValidationError) as excinfo:
        services.add_dewar(shipment, code="D9", registry=registered, by=None)
    assert "registry" in errors_of(excinfo)
    registered.proposals.add(shipment.proposal)
    assert services.add_dewar(shipment, code="D9", registry=registered, by=None).registry


def test_adding_a_dewar_reopens_a_ready_shipment(shipment, puck):
    services.place_sample(puck, 1, SampleFactory(proposal=shipment.proposal))
    states.change_dewar_status(puck.dewar, "labels_printed", by=None)
    states.change_shipment_status(shipment, "ready", by=None)
    services.add_dewar(shipment, code="D2", by=None)
    shipment.refresh_from_db()
    assert shipment.status == "opened"


def test_after_sending_only_return_tracking_and_comments_change(shipment, dewar, puck):
    send(shipment)
    with pytest.raises(ValidationError) as excinfo:
        services.update_dewar(dewar, by=None, code="other", weight=3)
    assert set(errors_of(excinfo)) == {"code", "weight"}
    services.update_dewar(dewar, by=None, tracking_number_from_facility="1Z", comments="ok")
    for call in (lambda: services.add_dewar(shipment, code="late", by=None),
                 lambda: services.delete_dewar(dewar, by=None),
                 lambda: services.add_container(dewar, code="late", by=None),
                 lambda: services.update_container(puck, by=None, code="x"),
                 lambda: services.delete_container(puck, by=None),
                 lambda: services.remove_sample(puck, 1),
                 lambda: services.place_sample(puck, 2,
                                               SampleFactory(proposal=shipment.proposal))):
        with pytest.raises(ValidationError) as excinfo:
            call()
        assert "sent" in str(excinfo.value)
    assert puck.positions.count() == 1 and Container.objects.count() == 1


# --- containers -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, capacity", [("unipuck", 16), ("spine", 10), ("plate", 96)])
def test_capacity_follows_the_type(dewar, kind, capacity):
    container = services.add_container(dewar, code="C", type=kind, by=None)
    assert container.capacity == capacity and container.barcode.startswith("MMC-C-")


@pytest.mark.parametrize("kwargs, field", [
    ({"type": "other"}, "capacity"),
    ({"type": "unipuck", "capacity": 12}, "capacity"),
    ({"type": "other", "capacity": 0}, "capacity"),
    ({"type": "cassette"}, "type"),
    ({"type": "unipuck", "barcode": "bad code!"}, "barcode"),
    ({"type": "unipuck", "code": ""}, "code"),
    ({"type": "unipuck", "code": "P1"}, "code"),
])
def test_add_container_refuses(dewar, puck, kwargs, field):
    kwargs = {"code": "C2", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        services.add_container(dewar, by=None, **kwargs)
    assert field in errors_of(excinfo)
    assert Container.objects.count() == 1


def test_container_barcodes_are_unique_and_may_be_the_pucks_own(dewar, puck):
    own = services.add_container(dewar, code="C2", type="other", capacity=5,
                                 barcode="asp-0042", by=None)
    assert own.barcode == "ASP-0042"
    with pytest.raises(ValidationError) as excinfo:
        services.add_container(dewar, code="C3", barcode="ASP-0042", by=None)
    assert "already used" in errors_of(excinfo)["barcode"][0]


def test_unattended_queue_is_refused_for_yellow_and_red(proposal):
    for safety in ("yellow", "red"):
        shipment = services.create_shipment(proposal, name=safety, safety_level=safety,
                                            by=None)
        dewar = services.add_dewar(shipment, code="D", by=None)
        with pytest.raises(ValidationError) as excinfo:
            services.add_container(dewar, code="Q", queue_for_unattended=True, by=None)
        assert "green" in errors_of(excinfo)["queue_for_unattended"][0]
        puck = services.add_container(dewar, code="Q", by=None)
        with pytest.raises(ValidationError) as excinfo:
            services.update_container(puck, by=None, queue_for_unattended=True)
        assert "queue_for_unattended" in errors_of(excinfo)


def test_capacity_cannot_shrink_below_placed_samples(dewar):
    container = services.add_container(dewar, code="O", type="other", capacity=12, by=None)
    services.place_sample(container, 12, SampleFactory(proposal=dewar.shipment.proposal))
    with pytest.raises(ValidationError) as excinfo:
        services.update_container(container, by=None, capacity=4)
    assert "capacity" in errors_of(excinfo)
    with pytest.raises(ValidationError):
        services.update_container(container, by=None, type="spine")
    assert (container.type, container.capacity) == ("other", 12)  # in memory too
    container.refresh_from_db()
    assert (container.type, container.capacity) == ("other", 12)


# --- samples ----------------------------------------------------------------------------------


def test_place_and_remove_samples(puck, proposal):
    sample = SampleFactory(proposal=proposal)
    placed = services.place_sample(puck, "3", sample, pin_barcode="PIN-1")
    assert (placed.position, placed.pin_barcode) == (3, "PIN-1")
    assert services.place_sample(puck, 3, sample) == placed  # a retry: nothing new
    assert SamplePosition.objects.count() == 1
    services.remove_sample(puck, 3)
    services.remove_sample(puck, 3)  # a retry
    assert not SamplePosition.objects.exists()
    assert sample.__class__.objects.filter(pk=sample.pk).exists()


@pytest.mark.parametrize("position", [0, 17, -1, "x"])
def test_positions_are_1_to_capacity(puck, proposal, position):
    with pytest.raises(ValidationError) as excinfo:
        services.place_sample(puck, position, SampleFactory(proposal=proposal))
    assert "position" in errors_of(excinfo)


def test_one_sample_per_position_and_one_position_per_sample(puck, dewar, proposal):
    first, second = SampleFactory(proposal=proposal), SampleFactory(proposal=proposal)
    services.place_sample(puck, 1, first)
    with pytest.raises(ValidationError) as excinfo:
        services.place_sample(puck, 1, second)
    assert "already holds" in errors_of(excinfo)["position"][0]
    other_puck = services.add_container(dewar, code="P2", by=None)
    with pytest.raises(ValidationError) as excinfo:
        services.place_sample(other_puck, 1, first)
    assert "already in P1" in errors_of(excinfo)["sample"][0]


def test_samples_of_another_proposal_are_refused(puck):
    with pytest.raises(ValidationError) as excinfo:
        services.place_sample(puck, 1, SampleFactory())
    assert "another proposal" in errors_of(excinfo)["sample"][0]


def test_place_samples_is_all_or_nothing(puck, proposal):
    good = SampleFactory(proposal=proposal)
    with pytest.raises(ValidationError):
        services.place_samples(puck, [(1, good, ""), (99, SampleFactory(proposal=proposal), "")])
    assert not SamplePosition.objects.exists()


# --- lab contacts -----------------------------------------------------------------------------


def test_lab_contacts(proposal):
    made = services.create_lab_contact(proposal, name="A", email="a@lab.example",
                                       laboratory="L", address="x", city="c", postcode="1",
                                       country="FR")
    with pytest.raises(ValidationError) as excinfo:
        services.create_lab_contact(proposal, name="A", email="not-an-email", laboratory="L",
                                    address="x", city="c", postcode="1", country="FR")
    assert {"name", "email"} <= set(errors_of(excinfo))
    services.update_lab_contact(made, phone="123")
    assert LabContact.objects.get(pk=made.pk).phone == "123"


def test_the_admin_cannot_bypass_the_rules():
    """Shipments, dewars, containers and positions are view-only in the admin: the rules live in
    the services and the state machine, which the admin would skip."""
    from django.contrib import admin
    from django.test import RequestFactory
    from mmcat_shipping.models import Container, Dewar, SamplePosition, Shipment

    from mmcat.testing import PersonFactory

    request = RequestFactory().get("/admin/")
    request.user = PersonFactory(is_staff=True, is_superuser=True)
    for model in (Shipment, Dewar, Container, SamplePosition):
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(request)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
