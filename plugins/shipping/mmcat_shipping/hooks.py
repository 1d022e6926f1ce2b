"""The shipping plugin's implementation of the mmCAT hooks."""

from mmcat.plugins.markers import hookimpl
from mmcat.plugins.types import MenuItem


@hookimpl
def mmcat_menu_items(request):
    """"Shipments" (the user's shipments) for everyone signed in; "Dewars" (the scanning page)
    for facility staff and beamline staff."""
    from django.urls import reverse

    from .scanning import can_scan

    items = [MenuItem("Shipments", reverse("shipping:shipment-list"), order=50)]
    if can_scan(request.user):
        items.append(MenuItem("Dewars", reverse("shipping:scan"), order=60))
    return items


@hookimpl
def mmcat_session_panels(session, request):
    """The session's dewars and containers (loaded lazily)."""
    from django.urls import reverse

    from mmcat.plugins.types import Panel

    return [Panel("Shipments and dewars", reverse("shipping:session-panel", args=[session.pk]),
                  order=30)]


@hookimpl
def mmcat_proposal_panels(proposal, request):
    """The proposal's shipments, with a "New shipment" link (loaded lazily)."""
    from django.urls import reverse

    from mmcat.plugins.types import Panel

    return [Panel("Shipments", reverse("shipping:proposal-panel", args=[proposal.pk]),
                  order=30)]


@hookimpl
def mmcat_demo_data(demo):
    from .demo import load

    load(demo)


@hookimpl
def mmcat_api_routes(router):
    from . import api

    router.register("shipping/contacts", api.ContactViewSet, basename="shipping-contact")
    router.register("shipping/shipments", api.ShipmentViewSet, basename="shipping-shipment")
    router.register("shipping/dewars", api.DewarViewSet, basename="shipping-dewar")
    router.register("shipping/containers", api.ContainerViewSet, basename="shipping-container")
    router.register("shipping/positions", api.PositionViewSet, basename="shipping-position")
    router.register("shipping/scan", api.ScanViewSet, basename="shipping-scan")
