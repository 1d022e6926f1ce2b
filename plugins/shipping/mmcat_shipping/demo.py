"""Shipping demonstration data: the live session's crystals arrived in a dewar of two Unipucks,
and a second shipment is being prepared."""

from __future__ import annotations

from mmcat.models import Sample

from . import services, states


def load(demo) -> None:
    live = demo.sessions["live"]
    alice, erik = demo.people["alice"], demo.people["erik"]
    contact = services.create_lab_contact(
        live.proposal, by=alice, name="Alice Martin", email="alice@example.org",
        phone="+44 1234 567890", laboratory="Structural Biology Lab, Example University",
        address="1 Science Park Road", city="Cambridge", postcode="CB1 2AB",
        country="United Kingdom", courier="DHL", courier_account="123456789")
    arrived = services.create_shipment(live.proposal, name="BAZ2B fragments 1",
                                       safety_level="green", sessions=[live],
                                       sending_contact=contact, by=alice)
    dewar = services.add_dewar(arrived, code="Dewar-1", weight=18.5, by=alice)
    for number in (1, 2):
        puck = services.add_container(dewar, code=f"BAZ2B-{number}", type="unipuck", by=alice)
        for position in range(1, 9):
            crystal = Sample.objects.create(proposal=live.proposal, component="BAZ2BA",
                                            name=f"x{800 + 8 * (number - 1) + position}")
            services.place_sample(puck, position, crystal)
    for status, who, where in (("labels_printed", alice, ""), ("ready", alice, ""),
                               ("sent", alice, ""), ("at_facility", erik, "RACK-A3"),
                               ("at_beamline", erik, live.beamline.name)):
        states.change_dewar_status(dewar, status, by=who, location=where)
    preparing = services.create_shipment(live.proposal, name="BAZ2B fragments 2",
                                         safety_level="green", sending_contact=contact,
                                         by=alice)
    services.add_dewar(preparing, code="Dewar-2", by=alice)
