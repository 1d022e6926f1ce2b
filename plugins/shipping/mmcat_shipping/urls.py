"""The shipping screens, mounted by the core at ``/shipping/`` (namespace ``shipping``)."""

from django.urls import path

from . import document_views, facility_views, import_views, views

urlpatterns = [
    path("", views.shipment_list, name="shipment-list"),
    path("shipments/new/", views.shipment_new, name="shipment-new"),
    path("shipments/<int:pk>/", views.shipment_detail, name="shipment-detail"),
    path("shipments/<int:pk>/edit/", views.shipment_edit, name="shipment-edit"),
    path("shipments/<int:pk>/delete/", views.shipment_delete, name="shipment-delete"),
    path("shipments/<int:pk>/status/", views.shipment_status, name="shipment-status"),
    path("shipments/<int:pk>/contacts/", views.contact_add, name="contact-add"),
    path("shipments/<int:pk>/dewars/", views.dewar_add, name="dewar-add"),
    path("dewars/<int:pk>/edit/", views.dewar_edit, name="dewar-edit"),
    path("dewars/<int:pk>/delete/", views.dewar_delete, name="dewar-delete"),
    path("dewars/<int:pk>/status/", views.dewar_status, name="dewar-status"),
    path("dewars/<int:pk>/history/", views.dewar_history, name="dewar-history"),
    path("dewars/<int:pk>/containers/", views.container_add, name="container-add"),
    path("containers/<int:pk>/", views.container_detail, name="container-detail"),
    path("containers/<int:pk>/edit/", views.container_edit, name="container-edit"),
    path("containers/<int:pk>/delete/", views.container_delete, name="container-delete"),
    path("containers/<int:pk>/place/", views.container_place, name="container-place"),
    path("containers/<int:pk>/remove/", views.container_remove, name="container-remove"),
    path("containers/<int:pk>/queue/", views.container_queue, name="container-queue"),
    path("sessions/<int:pk>/panel/", views.session_panel, name="session-panel"),
    path("proposals/<int:pk>/panel/", views.proposal_panel, name="proposal-panel"),
    # the sample-sheet import and paste, the facility's scanning pages, the PDF documents
    *import_views.urlpatterns,
    *facility_views.urlpatterns,
    *document_views.urlpatterns,
]
