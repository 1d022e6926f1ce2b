"""Every write to a shipment's contents goes through here (API, web UI, sample-sheet import), so
the rules hold on every path. Each function validates first, raises Django's
``ValidationError({field: [message]})`` naming the field, and writes in one transaction. Nothing
can be added, changed or removed once a dewar of the shipment was sent
(:func:`mmcat_shipping.states.is_editable`). Statuses change only in :mod:`.states`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import barcodes, states
from .models import (
    Container,
    Dewar,
    DewarRegistry,
    LabContact,
    SamplePosition,
    Shipment,
    TransportEvent,
)

LOCKED = "The shipment was sent: its dewars, containers and samples can no longer change."

SHIPMENT_FIELDS = ("name", "safety_level", "sending_contact", "return_contact", "courier",
                   "courier_account", "shipping_date", "delivery_agent_date", "comments")
DEWAR_FIELDS = ("code", "weight", "registry", "comments", "tracking_number_to_facility",
                "tracking_number_from_facility")
#: Dewar fields the facility may change after sending (tracking back, comments).
DEWAR_FIELDS_AFTER_SENT = ("tracking_number_from_facility", "comments")
CONTAINER_FIELDS = ("code", "type", "capacity", "queue_for_unattended", "comments", "barcode")
CONTACT_FIELDS = ("person", "name", "email", "phone", "laboratory", "address", "city",
                  "postcode", "country", "courier", "courier_account", "billing_reference",
                  "default_dewar_weight")


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError({k: v if isinstance(v, list) else [v] for k, v in errors.items()})


def _full_clean(obj, exclude=()) -> None:
    """``full_clean`` without the unique checks (done explicitly, naming the field)."""
    obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)


class _restored:
    """Give ``obj`` back its database values when the change is refused (no half-changed
    object left in the caller's hands)."""

    def __init__(self, obj):
        self.obj = obj

    def __enter__(self):
        return self.obj

    def __exit__(self, kind, exc, tb):
        if kind is not None and issubclass(kind, ValidationError) and self.obj.pk:
            self.obj.refresh_from_db()
        return False


def _check_editable(shipment: Shipment, field: str = "shipment") -> None:
    if not states.is_editable(shipment):
        _raise({field: LOCKED})


def _lock_shipment(shipment: Shipment) -> Shipment:
    return Shipment.objects.select_for_update().get(pk=shipment.pk)


# --- lab contacts -----------------------------------------------------------------------------


def _check_contact(contact: LabContact) -> None:
    errors = {}
    try:
        _full_clean(contact, exclude=("proposal",))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if contact.name and LabContact.objects.filter(
            proposal_id=contact.proposal_id, name=contact.name).exclude(pk=contact.pk).exists():
        errors.setdefault("name", []).append(
            f"The proposal already has a lab contact called {contact.name!r}.")
    _raise(errors)


def create_lab_contact(proposal, *, by=None, **fields) -> LabContact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    contact = LabContact(proposal=proposal, **fields)
    _check_contact(contact)
    with transaction.atomic():
        contact.save()
    return contact


def update_lab_contact(contact: LabContact, *, by=None, **fields) -> LabContact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    with _restored(contact), transaction.atomic():
        for key, value in fields.items():
            setattr(contact, key, value)
        _check_contact(contact)
        contact.save()
    return contact


# --- shipments --------------------------------------------------------------------------------


def _check_shipment(shipment: Shipment, sessions) -> dict:
    errors: dict[str, list[str]] = {}
    try:
        _full_clean(shipment, exclude=("proposal", "created_by"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if shipment.name and Shipment.objects.filter(
            proposal_id=shipment.proposal_id, name=shipment.name
    ).exclude(pk=shipment.pk).exists():
        errors.setdefault("name", []).append(
            f"The proposal already has a shipment called {shipment.name!r}.")
    for field in ("sending_contact", "return_contact"):
        contact = getattr(shipment, field)
        if contact is not None and contact.proposal_id != shipment.proposal_id:
            errors.setdefault(field, []).append(
                "This lab contact belongs to another proposal.")
    if sessions is not None:
        foreign = [s for s in sessions if s.proposal_id != shipment.proposal_id]
        if foreign:
            errors.setdefault("sessions", []).append(
                "Session(s) " + ", ".join(str(s) for s in foreign)
                + " belong to another proposal.")
    return errors


def create_shipment(proposal, *, name, safety_level=Shipment.Safety.GREEN, sessions=(),
                    sending_contact=None, return_contact=None, courier="", courier_account="",
                    comments="", by, **extra) -> Shipment:
    """A new, opened shipment of ``proposal``. The courier and account default to the sending
    contact's."""
    unknown = set(extra) - {"shipping_date", "delivery_agent_date"}
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    if sending_contact is not None:
        courier = courier or sending_contact.courier
        courier_account = courier_account or sending_contact.courier_account
    shipment = Shipment(proposal=proposal, name=(name or "").strip(), safety_level=safety_level,
                        sending_contact=sending_contact,
                        return_contact=return_contact or sending_contact,
                        courier=courier, courier_account=courier_account,
                        comments=comments, created_by=by, **extra)
    sessions = list(sessions or ())
    _raise(_check_shipment(shipment, sessions))
    try:
        with transaction.atomic():
            shipment.save()
            if sessions:
                shipment.sessions.set(sessions)
    except IntegrityError:  # a concurrent create of the same name
        _raise({"name": f"The proposal already has a shipment called {shipment.name!r}."})
    return shipment


def update_shipment(shipment: Shipment, *, by, sessions=None, **fields) -> Shipment:
    """Change a shipment's details. Safety level and contacts only while it is editable; the
    safety level must stay green while a container is queued for unattended collection."""
    unknown = set(fields) - set(SHIPMENT_FIELDS)
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    with transaction.atomic():
        locked = _lock_shipment(shipment)
        editable = states.is_editable(locked)
        errors: dict[str, list[str]] = {}
        for key, value in fields.items():
            if key == "name" and isinstance(value, str):
                value = value.strip()
            if (not editable and key in ("safety_level", "sending_contact")
                    and value != getattr(locked, key)):
                errors.setdefault(key, []).append(
                    "The shipment was sent: its "
                    + ("safety level" if key == "safety_level" else "sending contact")
                    + " can no longer change.")
            setattr(locked, key, value)
        if (locked.safety_level != Shipment.Safety.GREEN and Container.objects.filter(
                dewar__shipment=locked, queue_for_unattended=True).exists()):
            errors.setdefault("safety_level", []).append(
                "Containers of this shipment are queued for unattended collection, which is "
                "for green samples only; unqueue them first.")
        errors.update({k: errors.get(k, []) + v
                       for k, v in _check_shipment(locked, sessions).items()})
        _raise(errors)
        locked.save()
        if sessions is not None:
            locked.sessions.set(sessions)
    for key in fields:
        setattr(shipment, key, getattr(locked, key))
    return shipment


def delete_shipment(shipment: Shipment, *, by) -> None:
    with transaction.atomic():
        locked = _lock_shipment(shipment)
        if not states.can_delete(locked):
            _raise({"status": "The shipment was sent; it cannot be deleted."})
        SamplePosition.objects.filter(container__dewar__shipment=locked).delete()
        locked.delete()


# --- dewars -----------------------------------------------------------------------------------


def _check_dewar(dewar: Dewar, shipment: Shipment) -> dict:
    errors: dict[str, list[str]] = {}
    try:
        _full_clean(dewar, exclude=("shipment", "barcode"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if dewar.code and Dewar.objects.filter(shipment=shipment, code=dewar.code).exclude(
            pk=dewar.pk).exists():
        errors.setdefault("code", []).append(
            f"The shipment already has a dewar called {dewar.code!r}.")
    if dewar.weight is not None and not dewar.weight > 0:
        errors.setdefault("weight", []).append("The weight (kg) must be positive.")
    registry = dewar.registry
    if registry is not None and registry.pk and registry.proposals.exists() and not \
            registry.proposals.filter(pk=shipment.proposal_id).exists():
        errors.setdefault("registry", []).append(
            f"Facility dewar {registry.facility_code} is registered to another proposal.")
    return errors


def add_dewar(shipment: Shipment, *, code, weight=None, registry: DewarRegistry | None = None,
              comments="", by, **extra) -> Dewar:
    """A new dewar (status opened) with a new barcode. The weight defaults to the sending
    contact's default dewar weight."""
    unknown = set(extra) - {"tracking_number_to_facility"}
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    with transaction.atomic():
        locked = _lock_shipment(shipment)
        _check_editable(locked)
        if weight is None and locked.sending_contact_id:
            weight = locked.sending_contact.default_dewar_weight
        dewar = Dewar(shipment=locked, code=(code or "").strip(), weight=weight,
                      registry=registry, comments=comments, **extra)
        _raise(_check_dewar(dewar, locked))
        dewar.barcode = barcodes.new_dewar_barcode()
        dewar.save()
        TransportEvent.objects.create(shipment=locked, dewar=dewar, to_status=dewar.status,
                                      comment="Dewar added.", by=by)
        states._sync_shipment(locked, by=by)
    shipment.status = locked.status
    return dewar


def update_dewar(dewar: Dewar, *, by, **fields) -> Dewar:
    unknown = set(fields) - set(DEWAR_FIELDS)
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    with _restored(dewar), transaction.atomic():
        locked = _lock_shipment(dewar.shipment)
        if not states.is_editable(locked):
            frozen = [k for k in fields if k not in DEWAR_FIELDS_AFTER_SENT
                      and fields[k] != getattr(dewar, k)]
            _raise({k: LOCKED for k in frozen})
        for key, value in fields.items():
            setattr(dewar, key, value.strip() if key == "code" and value else value)
        _raise(_check_dewar(dewar, locked))
        dewar.save(update_fields=list(fields) or None)
    return dewar


def delete_dewar(dewar: Dewar, *, by) -> None:
    with transaction.atomic():
        locked = _lock_shipment(dewar.shipment)
        _check_editable(locked)
        SamplePosition.objects.filter(container__dewar=dewar).delete()
        dewar.delete()
        states._sync_shipment(locked, by=by)


# --- containers -------------------------------------------------------------------------------


def _check_container(container: Container, shipment: Shipment) -> dict:
    errors: dict[str, list[str]] = {}
    kind = container.type
    if kind in Container.CAPACITY:
        expected = Container.CAPACITY[kind]
        if container.capacity is None:
            container.capacity = expected
        elif container.capacity != expected:
            errors.setdefault("capacity", []).append(
                f"A {Container.Type(kind).label} has {expected} positions, not "
                f"{container.capacity}.")
    elif kind == Container.Type.OTHER and container.capacity is None:
        errors.setdefault("capacity", []).append(
            "Give the number of positions of a container of type other.")
    if container.capacity is not None and not 1 <= container.capacity <= 1000:
        errors.setdefault("capacity", []).append("The capacity must be between 1 and 1000.")
    try:
        _full_clean(container, exclude=["dewar", *errors])
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if container.code and Container.objects.filter(
            dewar_id=container.dewar_id, code=container.code).exclude(pk=container.pk).exists():
        errors.setdefault("code", []).append(
            f"The dewar already has a container called {container.code!r}.")
    if container.barcode:
        if not barcodes.is_scanner_safe(container.barcode):
            errors.setdefault("barcode", []).append(
                "Use upper-case letters, digits and '-' only (Code128-safe).")
        elif (Container.objects.filter(barcode=container.barcode).exclude(pk=container.pk)
              .exists() or Dewar.objects.filter(barcode=container.barcode).exists()):
            errors.setdefault("barcode", []).append(
                f"Barcode {container.barcode} is already used.")
    if container.queue_for_unattended and shipment.safety_level != Shipment.Safety.GREEN:
        errors.setdefault("queue_for_unattended", []).append(
            f"Unattended collection is for green samples only; this shipment is "
            f"{shipment.safety_level}.")
    if container.pk and container.capacity is not None:
        beyond = container.positions.filter(position__gt=container.capacity).exists()
        if beyond:
            errors.setdefault("capacity", []).append(
                "Samples are placed beyond this capacity; move them first.")
    return errors


def add_container(dewar: Dewar, *, code, type=Container.Type.UNIPUCK, capacity=None,
                  queue_for_unattended=False, by, barcode="", comments="") -> Container:
    """A new container; its capacity follows its type (unipuck 16, spine 10, plate 96; type
    other needs one). Without a barcode (the puck's own, Code128-safe) a new one is made."""
    with transaction.atomic():
        shipment = _lock_shipment(dewar.shipment)
        _check_editable(shipment)
        container = Container(dewar=dewar, code=(code or "").strip(), type=type,
                              capacity=capacity, queue_for_unattended=queue_for_unattended,
                              barcode=(barcode or "").strip().upper(), comments=comments)
        generated = not container.barcode
        if generated:
            container.barcode = "PENDING"  # passes full_clean; replaced below
        _raise(_check_container(container, shipment))
        if generated:
            container.barcode = barcodes.new_container_barcode()
        container.save()
        TransportEvent.objects.create(shipment=shipment, dewar=dewar, container=container,
                                      to_status="added", comment="Container added.", by=by)
    return container


def update_container(container: Container, *, by, **fields) -> Container:
    unknown = set(fields) - set(CONTAINER_FIELDS)
    _raise({k: f"Unknown field {k!r}." for k in unknown})
    with _restored(container), transaction.atomic():
        shipment = _lock_shipment(container.dewar.shipment)
        _check_editable(shipment)
        if "type" in fields and "capacity" not in fields and fields["type"] in Container.CAPACITY:
            fields["capacity"] = None
        for key, value in fields.items():
            if key == "barcode":
                value = (value or "").strip().upper()
            setattr(container, key, value)
        _raise(_check_container(container, shipment))
        container.save()
    return container


def delete_container(container: Container, *, by) -> None:
    with transaction.atomic():
        _check_editable(_lock_shipment(container.dewar.shipment))
        container.positions.all().delete()
        container.delete()


# --- samples ----------------------------------------------------------------------------------


def place_sample(container: Container, position: int, sample, *,
                 pin_barcode: str = "") -> SamplePosition:
    """Put ``sample`` (of the shipment's proposal) in ``position`` (1..capacity) of
    ``container``. Placing it again where it already is changes nothing (a retry)."""
    shipment = container.dewar.shipment
    with transaction.atomic():
        shipment = _lock_shipment(shipment)
        _check_editable(shipment)
        errors: dict[str, list[str]] = {}
        try:
            position = int(position)
        except (TypeError, ValueError):
            _raise({"position": f"{position!r} is not a position number."})
        if not 1 <= position <= container.capacity:
            errors["position"] = [f"Container {container.code} has positions 1 to "
                                  f"{container.capacity}; {position} is outside."]
        if sample.proposal_id != shipment.proposal_id:
            errors["sample"] = [f"Sample {sample} belongs to another proposal."]
        pin_barcode = (pin_barcode or "").strip()
        if len(pin_barcode) > 45:
            errors["pin_barcode"] = ["At most 45 characters."]
        _raise(errors)
        existing = SamplePosition.objects.filter(sample=sample).select_related(
            "container").first()
        if existing is not None:
            if existing.container_id == container.pk and existing.position == position:
                if pin_barcode and existing.pin_barcode != pin_barcode:
                    existing.pin_barcode = pin_barcode
                    existing.save(update_fields=["pin_barcode"])
                return existing
            _raise({"sample": f"Sample {sample} is already in {existing.container.code} "
                              f"position {existing.position}."})
        taken = SamplePosition.objects.filter(container=container, position=position).first()
        if taken is not None:
            _raise({"position": f"Position {position} of {container.code} already holds "
                                f"sample {taken.sample}."})
        try:
            with transaction.atomic():
                return SamplePosition.objects.create(container=container, position=position,
                                                     sample=sample, pin_barcode=pin_barcode)
        except IntegrityError:
            _raise({"position": f"Position {position} of {container.code} was just taken."})


def remove_sample(container: Container, position: int, *, by=None) -> None:
    """Empty ``position`` of ``container`` (the core sample stays). Emptying an empty
    position is a no-op (a retry)."""
    with transaction.atomic():
        _check_editable(_lock_shipment(container.dewar.shipment))
        SamplePosition.objects.filter(container=container, position=position).delete()


def place_samples(container: Container, placements: Iterable[tuple[int, object, str]]) -> None:
    """Place several samples at once, all or nothing."""
    with transaction.atomic():
        for position, sample, pin in placements:
            place_sample(container, position, sample, pin_barcode=pin)
