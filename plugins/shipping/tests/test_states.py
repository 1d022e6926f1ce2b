"""The shipment and dewar state machines: every allowed and every refused transition (the
expected tables are written out here, independently of the code's), the guards, the history,
the emails, and the row locking."""

import threading

import pytest
from django.apps import apps
from django.db import connection, transaction

from mmcat.testing import PersonFactory, ProposalFactory, SampleFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not installed"),
]

if apps.is_installed("mmcat_shipping"):
    from mmcat_shipping import barcodes, services, states
    from mmcat_shipping.models import Dewar, LabContact, Shipment, TransportEvent

DEWAR_STATUSES = ["opened", "labels_printed", "ready", "sent", "at_facility", "at_beamline",
                  "processing", "back_in_store", "dispatch_requested", "sent_back", "transfer"]
EXPECTED_DEWAR = {
    "opened": {"labels_printed"},
    "labels_printed": {"ready", "opened"},
    "ready": {"sent", "labels_printed"},
    "sent": {"at_facility"},
    "at_facility": {"at_beamline", "back_in_store", "dispatch_requested", "transfer"},
    "at_beamline": {"processing", "back_in_store"},
    "processing": {"at_beamline", "back_in_store"},
    "back_in_store": {"at_beamline", "dispatch_requested", "transfer"},
    "dispatch_requested": {"sent_back", "back_in_store"},
    "transfer": {"at_facility", "at_beamline", "back_in_store"},
    "sent_back": set(),
}
SHIPMENT_STATUSES = ["opened", "ready", "sent", "at_facility", "returned"]
EXPECTED_SHIPMENT = {
    "opened": {"ready"},
    "ready": {"sent", "opened"},
    "sent": {"at_facility"},
    "at_facility": {"returned"},
    "returned": set(),
}
# The dewar status that goes with each shipment status (for building shipments in a status).
DEWAR_FOR_SHIPMENT = {"opened": "labels_printed", "ready": "ready", "sent": "sent",
                      "at_facility": "dispatch_requested", "returned": "sent_back"}


def make_shipment(*, safety="green", dewars=1, contact=True, proposal=None):
    proposal = proposal or ProposalFactory()
    by = proposal.pi
    sending = returning = None
    if contact:
        sending = LabContact.objects.create(
            proposal=proposal, name="Sender", email="sender@lab.example", laboratory="Lab",
            address="1 Road", city="Town", postcode="1000", country="FR")
        returning = LabContact.objects.create(
            proposal=proposal, name="Returns", email="returns@lab.example", laboratory="Lab",
            address="2 Road", city="Town", postcode="1000", country="FR")
    shipment = services.create_shipment(proposal, name="ship", safety_level=safety,
                                        sending_contact=sending, return_contact=returning, by=by)
    for n in range(dewars):
        dewar = services.add_dewar(shipment, code=f"D{n + 1}", by=by)
        container = services.add_container(dewar, code=f"P{n + 1}", type="unipuck", by=by)
        services.place_sample(container, 1, SampleFactory(proposal=proposal))
    return shipment


def force(shipment, shipment_status, dewar_status):
    """Put a shipment and its dewars in a status directly (test set-up only)."""
    Shipment.objects.filter(pk=shipment.pk).update(status=shipment_status)
    Dewar.objects.filter(shipment=shipment).update(status=dewar_status)
    shipment.refresh_from_db()


# --- dewar transitions: the whole table ---------------------------------------------------------


@pytest.mark.parametrize("source", DEWAR_STATUSES)
@pytest.mark.parametrize("target", DEWAR_STATUSES)
def test_dewar_transition_table(source, target):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status=source)
    dewar.refresh_from_db()
    events = TransportEvent.objects.filter(dewar=dewar).count()
    if target in EXPECTED_DEWAR[source]:
        event = states.change_dewar_status(dewar, target, by=shipment.proposal.pi,
                                           location="R1")
        dewar.refresh_from_db()
        assert dewar.status == target
        assert (event.from_status, event.to_status, event.dewar) == (source, target, dewar)
        assert TransportEvent.objects.filter(dewar=dewar).count() == events + 1
    else:
        with pytest.raises(states.TransitionError):
            states.change_dewar_status(dewar, target, by=shipment.proposal.pi)
        dewar.refresh_from_db()
        assert dewar.status == source
        assert TransportEvent.objects.filter(dewar=dewar).count() == events


@pytest.mark.parametrize("source", DEWAR_STATUSES)
def test_allowed_dewar_transitions_match_the_table(source):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status=source)
    dewar.refresh_from_db()
    assert set(states.allowed_dewar_transitions(dewar)) == EXPECTED_DEWAR[source]


def test_unknown_dewar_status_is_refused():
    dewar = make_shipment().dewars.get()
    with pytest.raises(states.TransitionError, match="Unknown"):
        states.change_dewar_status(dewar, "lost", by=None)


# --- shipment transitions: the whole table ------------------------------------------------------


@pytest.mark.parametrize("source", SHIPMENT_STATUSES)
@pytest.mark.parametrize("target", SHIPMENT_STATUSES)
def test_shipment_transition_table(source, target):
    shipment = make_shipment(dewars=2)
    force(shipment, source, DEWAR_FOR_SHIPMENT[source])
    if target in EXPECTED_SHIPMENT[source]:
        event = states.change_shipment_status(shipment, target, by=shipment.proposal.pi)
        shipment.refresh_from_db()
        assert shipment.status == target
        assert (event.from_status, event.to_status, event.dewar) == (source, target, None)
        # the dewars followed, each with its own history row
        for dewar in shipment.dewars.all():
            assert states._SHIPMENT_OF_DEWAR[dewar.status] == target
            assert dewar.events.filter(to_status=dewar.status).exists()
    else:
        with pytest.raises(states.TransitionError):
            states.change_shipment_status(shipment, target, by=shipment.proposal.pi)
        shipment.refresh_from_db()
        assert shipment.status == source
        assert set(shipment.dewars.values_list("status", flat=True)) == {
            DEWAR_FOR_SHIPMENT[source]}


@pytest.mark.parametrize("source", SHIPMENT_STATUSES)
def test_allowed_shipment_transitions_match_the_table(source):
    shipment = make_shipment()
    force(shipment, source, DEWAR_FOR_SHIPMENT[source])
    assert set(states.allowed_shipment_transitions(shipment)) == EXPECTED_SHIPMENT[source]


# --- guards -----------------------------------------------------------------------------------


def test_labels_must_be_printed_before_ready():
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    with pytest.raises(states.TransitionError, match="opened to ready"):
        states.change_dewar_status(dewar, "ready", by=None)
    with pytest.raises(states.TransitionError, match="Print the labels"):
        states.change_shipment_status(shipment, "ready", by=None)


def test_no_ready_without_containers_or_with_an_empty_container():
    shipment = make_shipment(dewars=0)
    by = shipment.proposal.pi
    dewar = services.add_dewar(shipment, code="E", by=by)
    states.change_dewar_status(dewar, "labels_printed", by=by)
    with pytest.raises(states.TransitionError, match="no containers"):
        states.change_dewar_status(dewar, "ready", by=by)
    services.add_container(dewar, code="EMPTY", type="spine", by=by)
    with pytest.raises(states.TransitionError, match="EMPTY hold no samples"):
        states.change_dewar_status(dewar, "ready", by=by)
    assert states.allowed_dewar_transitions(dewar) == ["opened"]


def test_no_sent_with_an_empty_container():
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="ready")
    dewar.containers.get().positions.all().delete()
    with pytest.raises(states.TransitionError, match="hold no samples"):
        states.change_dewar_status(dewar, "sent", by=None)


def test_no_sent_while_a_dewar_is_processing():
    shipment = make_shipment(dewars=2)
    first, second = shipment.dewars.order_by("code")
    Dewar.objects.filter(pk=first.pk).update(status="processing")
    Dewar.objects.filter(pk=second.pk).update(status="ready")
    second.refresh_from_db()
    with pytest.raises(states.TransitionError, match="being processed"):
        states.change_dewar_status(second, "sent", by=None)
    Shipment.objects.filter(pk=shipment.pk).update(status="ready")
    shipment.refresh_from_db()
    with pytest.raises(states.TransitionError, match="being processed"):
        states.change_shipment_status(shipment, "sent", by=None)


def test_unattended_queue_needs_a_green_shipment():
    shipment = make_shipment(safety="yellow")
    dewar = shipment.dewars.get()
    # set up behind the services' back, as a legacy row would be
    dewar.containers.update(queue_for_unattended=True)
    states.change_dewar_status(dewar, "labels_printed", by=None)
    with pytest.raises(states.TransitionError, match="unattended"):
        states.change_dewar_status(dewar, "ready", by=None)


def test_editing_and_deleting_stop_once_sent():
    shipment = make_shipment()
    assert states.is_editable(shipment) and states.can_delete(shipment)
    states.change_dewar_status(shipment.dewars.get(), "labels_printed", by=None)
    states.change_shipment_status(shipment, "ready", by=None)
    assert states.is_editable(shipment) and states.can_delete(shipment)
    states.change_shipment_status(shipment, "sent", by=None)
    assert not states.is_editable(shipment) and not states.can_delete(shipment)


# --- the shipment follows its dewars ----------------------------------------------------------


def test_shipment_status_follows_its_dewars():
    shipment = make_shipment(dewars=2)
    by = shipment.proposal.pi
    first, second = shipment.dewars.order_by("code")
    for dewar in (first, second):
        states.change_dewar_status(dewar, "labels_printed", by=by)
    states.change_dewar_status(first, "ready", by=by)
    shipment.refresh_from_db()
    assert shipment.status == "opened"
    states.change_dewar_status(second, "ready", by=by)
    shipment.refresh_from_db()
    assert shipment.status == "ready"
    states.change_dewar_status(first, "sent", by=by)
    states.change_dewar_status(second, "sent", by=by)
    shipment.refresh_from_db()
    assert shipment.status == "sent" and shipment.shipping_date is not None
    staff = PersonFactory(role="staff")
    states.change_dewar_status(first, "at_facility", by=staff, location="STORE-A1")
    shipment.refresh_from_db()
    assert shipment.status == "sent"
    first.refresh_from_db()
    assert first.location == "STORE-A1" and first.arrived_at is not None
    states.change_dewar_status(second, "at_facility", by=staff, location="STORE-A2")
    shipment.refresh_from_db()
    assert shipment.status == "at_facility"
    for dewar in (first, second):
        states.change_dewar_status(dewar, "dispatch_requested", by=by)
        states.change_dewar_status(dewar, "sent_back", by=staff)
    shipment.refresh_from_db()
    assert shipment.status == "returned"
    history = list(shipment.events.filter(dewar=None).values_list("from_status", "to_status"))
    assert history[:4] == [("at_facility", "returned"), ("sent", "at_facility"),
                           ("ready", "sent"), ("opened", "ready")]


def test_arrival_time_is_kept_on_a_second_arrival():
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="sent")
    dewar.refresh_from_db()
    states.change_dewar_status(dewar, "at_facility", by=None)
    arrived = dewar.arrived_at
    states.change_dewar_status(dewar, "transfer", by=None, location="SITE-B")
    states.change_dewar_status(dewar, "at_facility", by=None)
    dewar.refresh_from_db()
    assert dewar.arrived_at == arrived and dewar.location == "SITE-B"


def test_history_rows_record_who_when_where():
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    staff = PersonFactory(role="staff")
    Dewar.objects.filter(pk=dewar.pk).update(status="sent")
    event = states.change_dewar_status(dewar, "at_facility", by=staff, location="RACK-3",
                                       comment="lid cracked")
    row = TransportEvent.objects.get(pk=event.pk)
    assert (row.shipment, row.dewar, row.by, row.from_status, row.to_status, row.location,
            row.comment) == (shipment, dewar, staff, "sent", "at_facility", "RACK-3",
                             "lid cracked")
    assert row.at is not None


def test_record_scan_moves_the_dewar_and_is_idempotent():
    dewar = make_shipment().dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="at_facility", location="R1")
    dewar.refresh_from_db()
    event = states.record_scan(dewar, by=None, location="R2")
    assert (event.from_status, event.to_status, event.location) == ("at_facility",
                                                                     "at_facility", "R2")
    assert states.record_scan(dewar, by=None, location="R2") is None
    Dewar.objects.filter(pk=dewar.pk).update(status="opened")
    dewar.refresh_from_db()
    with pytest.raises(states.TransitionError):
        states.record_scan(dewar, by=None, location="R3")


# --- emails -----------------------------------------------------------------------------------


def test_arrival_emails_the_sender_and_the_pi(django_capture_on_commit_callbacks, mailoutbox):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="sent")
    Shipment.objects.filter(pk=shipment.pk).update(status="sent")
    with django_capture_on_commit_callbacks(execute=True):
        states.change_dewar_status(dewar, "at_facility", by=None, location="STORE-1")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["sender@lab.example", shipment.proposal.pi.email]
    assert dewar.barcode in mail.body and "STORE-1" in mail.body
    assert "At facility" in mail.body  # rendered after the shipment followed


def test_sent_back_emails_the_return_contact_with_tracking(django_capture_on_commit_callbacks,
                                                           mailoutbox):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="dispatch_requested",
                                             tracking_number_from_facility="1Z999AA1")
    with django_capture_on_commit_callbacks(execute=True):
        states.change_dewar_status(dewar, "sent_back", by=None)
    assert [m.to for m in mailoutbox] == [["returns@lab.example"]]
    assert "1Z999AA1" in mailoutbox[0].body


def test_dispatch_request_emails_the_stores_when_configured(
        django_capture_on_commit_callbacks, mailoutbox, settings):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="back_in_store")
    with django_capture_on_commit_callbacks(execute=True):
        states.change_dewar_status(dewar, "dispatch_requested", by=None)
    assert mailoutbox == []  # no stores address by default
    settings.MMCAT_PLUGIN_SETTINGS = {"shipping": {"stores_email": "stores@facility.example"}}
    states.change_dewar_status(dewar, "back_in_store", by=None)
    with django_capture_on_commit_callbacks(execute=True):
        states.change_dewar_status(dewar, "dispatch_requested", by=None)
    assert [m.to for m in mailoutbox] == [["stores@facility.example"]]
    assert "Returns" in mailoutbox[0].body


def test_other_transitions_and_refusals_send_nothing(django_capture_on_commit_callbacks,
                                                     mailoutbox):
    shipment = make_shipment()
    dewar = shipment.dewars.get()
    with django_capture_on_commit_callbacks(execute=True):
        states.change_dewar_status(dewar, "labels_printed", by=None)
        with pytest.raises(states.TransitionError):
            states.change_dewar_status(dewar, "sent_back", by=None)
    assert mailoutbox == []


def test_a_rolled_back_arrival_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    dewar = make_shipment().dewars.get()
    Dewar.objects.filter(pk=dewar.pk).update(status="sent")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        states.change_dewar_status(dewar, "at_facility", by=None)
        raise RuntimeError
    assert mailoutbox == []
    assert Dewar.objects.get(pk=dewar.pk).status == "sent"


# --- concurrency --------------------------------------------------------------------------------


def test_a_stale_object_is_rechecked_against_the_locked_row():
    dewar = make_shipment().dewars.get()
    stale = Dewar.objects.get(pk=dewar.pk)
    states.change_dewar_status(dewar, "labels_printed", by=None)
    assert stale.status == "opened"
    with pytest.raises(states.TransitionError, match="labels_printed to labels_printed"):
        states.change_dewar_status(stale, "labels_printed", by=None)
    assert stale.status == "opened"  # unchanged by a refusal
    assert TransportEvent.objects.filter(dewar=dewar, to_status="labels_printed").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="row locks need PostgreSQL (SQLite locks the whole database)")
def test_concurrent_changes_serialize_on_postgresql():
    dewar = make_shipment().dewars.get()
    barrier = threading.Barrier(4)
    results = []

    def attempt():
        try:
            barrier.wait()
            states.change_dewar_status(Dewar.objects.get(pk=dewar.pk), "labels_printed",
                                       by=None)
            results.append("ok")
        except states.TransitionError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert TransportEvent.objects.filter(dewar=dewar, to_status="labels_printed").count() == 1


# --- barcodes ---------------------------------------------------------------------------------


def test_barcodes_are_scanner_safe_unique_and_never_reused(settings):
    first = barcodes.new_dewar_barcode()
    second = barcodes.new_dewar_barcode()
    assert first != second
    assert barcodes.is_scanner_safe(first) and first.startswith("MMC-D-")
    container = barcodes.new_container_barcode()
    assert container.startswith("MMC-C-")
    shipment = make_shipment(dewars=0)
    dewar = services.add_dewar(shipment, code="X", by=None)
    services.delete_dewar(dewar, by=None)
    assert services.add_dewar(shipment, code="X", by=None).barcode != dewar.barcode
    settings.MMCAT_PLUGIN_SETTINGS = {"shipping": {"barcode_prefix": "esrf lab"}}
    assert barcodes.new_dewar_barcode().startswith("ESRF-LAB-D-")


def test_a_taken_number_is_skipped():
    shipment = make_shipment(dewars=0)
    dewar = services.add_dewar(shipment, code="A", by=None)
    number = int(dewar.barcode.rsplit("-", 1)[1])
    Dewar.objects.create(shipment=shipment, code="B", barcode=f"MMC-D-{number + 1:06d}")
    assert barcodes.new_dewar_barcode() == f"MMC-D-{number + 2:06d}"
