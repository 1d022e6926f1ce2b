"""Admin pages. Shipments, dewars, containers and sample positions are shown read-only here:
they change only through :mod:`.services` and :mod:`.states` (the shipment pages and the API),
which enforce the rules (capacities, one sample per position, nothing changes after sending)."""

from django.contrib import admin

from .models import (
    BarcodeCounter,
    Container,
    Dewar,
    DewarRegistry,
    LabContact,
    SamplePosition,
    Shipment,
    TransportEvent,
)


class ViewOnlyAdmin(admin.ModelAdmin):
    """Staff can look, search and filter; changes go through the pages and the API."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LabContact)
class LabContactAdmin(admin.ModelAdmin):
    list_display = ["name", "laboratory", "proposal", "email"]
    search_fields = ["name", "laboratory", "email"]
    raw_id_fields = ["proposal", "person"]


class DewarInline(admin.TabularInline):
    model = Dewar
    can_delete = False
    max_num = 0
    fields = ["code", "barcode", "status", "location", "weight"]
    readonly_fields = ["barcode", "status", "location"]
    extra = 0
    show_change_link = True


@admin.register(Shipment)
class ShipmentAdmin(ViewOnlyAdmin):
    list_display = ["name", "proposal", "status", "safety_level", "created_at"]
    list_filter = ["status", "safety_level"]
    search_fields = ["name", "proposal__number"]
    readonly_fields = ["status", "created_at"]
    raw_id_fields = ["proposal", "sending_contact", "return_contact", "created_by"]
    filter_horizontal = ["sessions"]
    inlines = [DewarInline]


@admin.register(Dewar)
class DewarAdmin(ViewOnlyAdmin):
    list_display = ["barcode", "code", "shipment", "status", "location", "arrived_at"]
    list_filter = ["status"]
    search_fields = ["barcode", "code", "shipment__name"]
    readonly_fields = ["barcode", "status", "location", "arrived_at"]
    raw_id_fields = ["shipment", "registry"]


@admin.register(Container)
class ContainerAdmin(ViewOnlyAdmin):
    list_display = ["barcode", "code", "type", "capacity", "dewar", "queue_for_unattended"]
    list_filter = ["type", "queue_for_unattended"]
    search_fields = ["barcode", "code"]
    raw_id_fields = ["dewar"]


@admin.register(SamplePosition)
class SamplePositionAdmin(ViewOnlyAdmin):
    list_display = ["container", "position", "sample", "pin_barcode"]
    raw_id_fields = ["container", "sample"]


@admin.register(DewarRegistry)
class DewarRegistryAdmin(admin.ModelAdmin):
    list_display = ["facility_code", "purchase_date"]
    search_fields = ["facility_code"]
    filter_horizontal = ["proposals"]


@admin.register(TransportEvent)
class TransportEventAdmin(ViewOnlyAdmin):
    list_display = ["at", "shipment", "dewar", "container", "from_status", "to_status",
                    "location", "by"]
    list_filter = ["to_status"]
    readonly_fields = [f.name for f in TransportEvent._meta.fields]


@admin.register(BarcodeCounter)
class BarcodeCounterAdmin(admin.ModelAdmin):
    list_display = ["series", "value"]
    readonly_fields = ["series", "value"]
