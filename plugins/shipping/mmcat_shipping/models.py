"""Shipping tables, in ISPyB's vocabulary (Shipping, Dewar, Container, BLSample position,
DewarTransportHistory, LabContact). Every table points at core tables; the core never points
back. Statuses change only through :mod:`mmcat_shipping.states`, which records each change."""

from django.conf import settings
from django.db import models


class LabContact(models.Model):
    """A person of a proposal who sends and receives dewars, with addresses and courier account."""

    proposal = models.ForeignKey("core.Proposal", on_delete=models.CASCADE,
                                 related_name="lab_contacts")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="lab_contacts")
    name = models.CharField(max_length=120, help_text="How the contact is called on labels.")
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    laboratory = models.CharField(max_length=200)
    address = models.TextField(help_text="Where dewars are sent back to.")
    city = models.CharField(max_length=80)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=60)
    courier = models.CharField(max_length=60, blank=True)
    courier_account = models.CharField(max_length=60, blank=True)
    billing_reference = models.CharField(max_length=60, blank=True)
    default_dewar_weight = models.FloatField(null=True, blank=True, help_text="kg")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "name"], name="lab_contact_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.laboratory})"


class Shipment(models.Model):
    """A shipment of dewars from a laboratory to the facility and back."""

    class Safety(models.TextChoices):
        GREEN = "green", "Green"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"

    class Status(models.TextChoices):
        OPENED = "opened", "Opened"
        READY = "ready", "Ready to send"
        SENT = "sent", "Sent to facility"
        AT_FACILITY = "at_facility", "At facility"
        RETURNED = "returned", "Sent back"

    proposal = models.ForeignKey("core.Proposal", on_delete=models.PROTECT,
                                 related_name="shipments")
    sessions = models.ManyToManyField("core.Session", blank=True, related_name="shipments")
    name = models.CharField(max_length=45)
    safety_level = models.CharField(max_length=10, choices=Safety.choices, default=Safety.GREEN)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPENED,
                              editable=False)
    sending_contact = models.ForeignKey(LabContact, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    return_contact = models.ForeignKey(LabContact, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    courier = models.CharField(max_length=60, blank=True)
    courier_account = models.CharField(max_length=60, blank=True)
    shipping_date = models.DateField(null=True, blank=True)
    delivery_agent_date = models.DateField(null=True, blank=True)
    comments = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "name"], name="shipment_name"),
        ]

    def __str__(self):
        return self.name


class DewarRegistry(models.Model):
    """The facility's own dewars (ISPyB DewarRegistry): facility code, owner proposal(s),
    purchase date and the number of trips, so that a dewar is known before it is shipped."""

    facility_code = models.CharField(max_length=20, unique=True)
    proposals = models.ManyToManyField("core.Proposal", blank=True,
                                       related_name="registered_dewars")
    purchase_date = models.DateField(null=True, blank=True)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["facility_code"]
        verbose_name_plural = "dewar registry"

    def __str__(self):
        return self.facility_code


class Dewar(models.Model):
    """A dewar of a shipment. Its barcode is generated, unique, and printed on its labels."""

    class Status(models.TextChoices):
        OPENED = "opened", "Opened"
        LABELS_PRINTED = "labels_printed", "Labels printed"
        READY = "ready", "Ready to send"
        SENT = "sent", "Sent to facility"
        AT_FACILITY = "at_facility", "At facility"
        AT_BEAMLINE = "at_beamline", "At beamline"
        PROCESSING = "processing", "Processing"
        BACK_IN_STORE = "back_in_store", "Back in store"
        DISPATCH_REQUESTED = "dispatch_requested", "Dispatch requested"
        SENT_BACK = "sent_back", "Sent back"
        TRANSFER = "transfer", "Transferred"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="dewars")
    code = models.CharField(max_length=45, help_text="The laboratory's name for the dewar.")
    registry = models.ForeignKey(DewarRegistry, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="dewars")
    barcode = models.CharField(max_length=45, unique=True, editable=False)
    tracking_number_to_facility = models.CharField(max_length=60, blank=True)
    tracking_number_from_facility = models.CharField(max_length=60, blank=True)
    weight = models.FloatField(null=True, blank=True, help_text="kg")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPENED,
                              editable=False)
    location = models.CharField(max_length=60, blank=True, editable=False,
                                help_text="Last scanned location (store rack, beamline).")
    arrived_at = models.DateTimeField(null=True, blank=True, editable=False)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["shipment", "code"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "code"], name="dewar_code_per_shipment"),
        ]

    def __str__(self):
        return f"{self.code} ({self.barcode})"


class Container(models.Model):
    """A puck or plate in a dewar, with its positions."""

    class Type(models.TextChoices):
        UNIPUCK = "unipuck", "Unipuck"
        SPINE = "spine", "SPINE puck"
        PLATE = "plate", "Plate (96)"
        OTHER = "other", "Other"

    CAPACITY = {Type.UNIPUCK: 16, Type.SPINE: 10, Type.PLATE: 96}

    dewar = models.ForeignKey(Dewar, on_delete=models.CASCADE, related_name="containers")
    code = models.CharField(max_length=45)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.UNIPUCK)
    capacity = models.PositiveSmallIntegerField(help_text="Positions 1..capacity.")
    barcode = models.CharField(max_length=45, unique=True)
    queue_for_unattended = models.BooleanField(
        default=False, help_text="Queue for unattended data collection when it arrives.")
    location = models.CharField(max_length=60, blank=True, editable=False,
                                help_text="e.g. sample changer position at the beamline.")
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["dewar", "code"]
        constraints = [
            models.UniqueConstraint(fields=["dewar", "code"], name="container_code_per_dewar"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="capacity_positive"),
        ]

    def __str__(self):
        return f"{self.code} ({self.get_type_display()})"


class SamplePosition(models.Model):
    """A sample in a position of a container (one sample per position, one position per
    sample). The core Sample carries the proposal-unique (protein acronym, name)."""

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="positions")
    position = models.PositiveSmallIntegerField()
    sample = models.OneToOneField("core.Sample", on_delete=models.CASCADE,
                                  related_name="shipping_position")
    pin_barcode = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["container", "position"]
        constraints = [
            models.UniqueConstraint(fields=["container", "position"],
                                    name="one_sample_per_position"),
            models.CheckConstraint(condition=models.Q(position__gte=1),
                                   name="position_from_one"),
        ]

    def __str__(self):
        return f"{self.container.code}:{self.position}"


class TransportEvent(models.Model):
    """The history of a shipment, dewar or container: every status change and every scan, with
    who, when and where (ISPyB DewarTransportHistory, extended)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    dewar = models.ForeignKey(Dewar, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="events")
    container = models.ForeignKey(Container, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    location = models.CharField(max_length=60, blank=True)
    comment = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dewar", "-at"])]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class BarcodeCounter(models.Model):
    """The last number handed out per barcode series (``<prefix>-D``, ``<prefix>-C``), so that
    a barcode is never reused, even after its dewar or container is deleted. Rows are locked
    (``select_for_update``) while a number is taken; see :mod:`mmcat_shipping.barcodes`."""

    series = models.CharField(max_length=40, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.series}: {self.value}"
