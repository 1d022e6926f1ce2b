"""The demo's shipments go through the real services and state machine."""

import pytest
from django.apps import apps

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                                 reason="the shipping plugin is not enabled (MMCAT_PLUGINS)")]


def test_the_demo_has_a_dewar_at_the_beamline_with_its_history():
    from mmcat_shipping.models import Dewar, Shipment

    from mmcat import demo

    demo.load()
    dewar = Dewar.objects.get(code="Dewar-1")
    assert (dewar.status, dewar.location) == ("at_beamline", "i04-1")
    assert dewar.barcode and dewar.containers.count() == 2
    history = list(dewar.events.order_by("at", "id").values_list("to_status", flat=True))
    assert history[-5:] == ["labels_printed", "ready", "sent", "at_facility", "at_beamline"]
    assert Shipment.objects.get(name="BAZ2B fragments 2").status == "opened"
