"""The shipment and dewar state machines. Statuses change only here; every change is a
:class:`~mmcat_shipping.models.TransportEvent` (who, when, where, from, to) written in the same
transaction, with the changed rows locked (``select_for_update``; the shipment row first, then
its dewars, everywhere, so that concurrent changes serialize instead of deadlocking).

Dewar lifecycle::

    opened → labels_printed → ready → sent → at_facility → at_beamline ↔ processing
           → back_in_store → dispatch_requested → sent_back
    transfer (to another location or shipment) from at_facility / back_in_store

The shipment's status follows its dewars (the least advanced dewar decides): ``ready`` when
every dewar is ready, ``sent`` when every dewar was sent, ``at_facility`` when every dewar
arrived, ``returned`` when every dewar was sent back.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Container, Dewar, SamplePosition, Shipment, TransportEvent

D = Dewar.Status
S = Shipment.Status


class TransitionError(ValueError):
    """A refused status change; ``str(exc)`` is the reason, for people."""


# --- the tables -------------------------------------------------------------------------------

DEWAR_TRANSITIONS: dict[str, tuple[str, ...]] = {
    D.OPENED: (D.LABELS_PRINTED,),
    D.LABELS_PRINTED: (D.READY, D.OPENED),
    D.READY: (D.SENT, D.LABELS_PRINTED),
    D.SENT: (D.AT_FACILITY,),
    D.AT_FACILITY: (D.AT_BEAMLINE, D.BACK_IN_STORE, D.DISPATCH_REQUESTED, D.TRANSFER),
    D.AT_BEAMLINE: (D.PROCESSING, D.BACK_IN_STORE),
    D.PROCESSING: (D.AT_BEAMLINE, D.BACK_IN_STORE),
    D.BACK_IN_STORE: (D.AT_BEAMLINE, D.DISPATCH_REQUESTED, D.TRANSFER),
    D.DISPATCH_REQUESTED: (D.SENT_BACK, D.BACK_IN_STORE),
    D.TRANSFER: (D.AT_FACILITY, D.AT_BEAMLINE, D.BACK_IN_STORE),
    D.SENT_BACK: (),
}

SHIPMENT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.OPENED: (S.READY,),
    S.READY: (S.SENT, S.OPENED),
    S.SENT: (S.AT_FACILITY,),
    S.AT_FACILITY: (S.RETURNED,),
    S.RETURNED: (),
}

#: Statuses a user of the proposal may set; the others are the facility's (staff, services).
USER_DEWAR_STATUSES = frozenset({D.OPENED, D.LABELS_PRINTED, D.READY, D.SENT,
                                 D.DISPATCH_REQUESTED})
FACILITY_DEWAR_STATUSES = frozenset(set(D.values) - USER_DEWAR_STATUSES)
USER_SHIPMENT_STATUSES = frozenset({S.OPENED, S.READY, S.SENT})
FACILITY_SHIPMENT_STATUSES = frozenset({S.AT_FACILITY, S.RETURNED})

PRE_SENT = frozenset({D.OPENED, D.LABELS_PRINTED, D.READY})
AT_FACILITY = frozenset({D.AT_FACILITY, D.AT_BEAMLINE, D.PROCESSING, D.BACK_IN_STORE,
                         D.DISPATCH_REQUESTED, D.TRANSFER})

# The shipment status a dewar status stands for; the shipment takes the least advanced.
_SHIPMENT_OF_DEWAR = {
    D.OPENED: S.OPENED, D.LABELS_PRINTED: S.OPENED, D.READY: S.READY, D.SENT: S.SENT,
    **{status: S.AT_FACILITY for status in AT_FACILITY}, D.SENT_BACK: S.RETURNED,
}
_SHIPMENT_ORDER = [S.OPENED, S.READY, S.SENT, S.AT_FACILITY, S.RETURNED]


def may_set(user, to_status: str, *, dewar: bool = True) -> bool:
    """Whether ``user`` may ask for ``to_status``: facility staff anything, service accounts
    the facility statuses, members of the proposal the user statuses (the caller checks
    membership)."""
    if user is None or not user.is_authenticated:
        return False
    if user.sees_everything:
        return True
    facility = FACILITY_DEWAR_STATUSES if dewar else FACILITY_SHIPMENT_STATUSES
    if user.is_service:
        return to_status in facility
    return to_status not in facility


# --- guards -----------------------------------------------------------------------------------


def is_editable(shipment: Shipment) -> bool:
    """Dewars, containers and samples can be added, changed or removed until a dewar is sent."""
    if shipment.status not in (S.OPENED, S.READY):
        return False
    if shipment.pk is None:
        return True
    return not shipment.dewars.exclude(status__in=PRE_SENT).exists()


def can_delete(shipment: Shipment) -> bool:
    """A shipment can be deleted until it is sent (then it is history)."""
    return is_editable(shipment) and not shipment.events.filter(
        to_status__in=[S.SENT, D.SENT]).exists()


def _dewar_content_problem(dewar: Dewar) -> str | None:
    containers = list(dewar.containers.all())
    if not containers:
        return f"Dewar {dewar.code} has no containers."
    filled = set(SamplePosition.objects.filter(container__dewar=dewar)
                 .values_list("container_id", flat=True))
    empty = [c.code for c in containers if c.pk not in filled]
    if empty:
        return f"Dewar {dewar.code}: container(s) {', '.join(empty)} hold no samples."
    return None


def _safety_problem(shipment: Shipment) -> str | None:
    if shipment.safety_level != Shipment.Safety.GREEN and Container.objects.filter(
            dewar__shipment=shipment, queue_for_unattended=True).exists():
        return (f"A {shipment.safety_level} shipment cannot be queued for unattended "
                "collection: only green samples are collected unattended.")
    return None


def _dewar_guard(dewar: Dewar, to_status: str) -> str | None:
    """Why ``dewar`` may not go to ``to_status`` now (``None``: it may)."""
    allowed = DEWAR_TRANSITIONS.get(dewar.status, ())
    if to_status not in allowed:
        return (f"A dewar cannot go from {dewar.status} to {to_status}"
                + (f" (allowed: {', '.join(allowed)})." if allowed else
                   f": {dewar.status} is final."))
    if to_status in (D.READY, D.SENT):
        problem = _dewar_content_problem(dewar) or _safety_problem(dewar.shipment)
        if problem:
            return problem
    if to_status == D.SENT and dewar.shipment.dewars.filter(status=D.PROCESSING).exists():
        return "A dewar of this shipment is being processed; it cannot be sent now."
    return None


def allowed_dewar_transitions(dewar: Dewar, user=None) -> list[str]:
    """The statuses ``dewar`` may go to now (all guards checked), for ``user`` if given."""
    return [to for to in DEWAR_TRANSITIONS.get(dewar.status, ())
            if _dewar_guard(dewar, to) is None and (user is None or may_set(user, to))]


def _shipment_guard(shipment: Shipment, to_status: str, dewars: list[Dewar]) -> str | None:
    allowed = SHIPMENT_TRANSITIONS.get(shipment.status, ())
    if to_status not in allowed:
        return (f"A shipment cannot go from {shipment.status} to {to_status}"
                + (f" (allowed: {', '.join(allowed)})." if allowed else
                   f": {shipment.status} is final."))
    if not dewars and to_status != S.OPENED:
        return "The shipment has no dewars."
    # Each dewar must be able to follow (or already be there).
    needs = {S.READY: ({D.LABELS_PRINTED}, {D.READY}, D.READY),
             S.SENT: ({D.READY}, {D.SENT}, D.SENT),
             S.AT_FACILITY: ({D.SENT}, AT_FACILITY, D.AT_FACILITY),
             S.RETURNED: ({D.DISPATCH_REQUESTED}, {D.SENT_BACK}, D.SENT_BACK),
             S.OPENED: ({D.READY}, {D.OPENED, D.LABELS_PRINTED}, D.LABELS_PRINTED)}
    movable, done, _target = needs[to_status]
    if to_status == S.SENT and any(d.status == D.PROCESSING for d in dewars):
        return "A dewar of this shipment is being processed; it cannot be sent now."
    for dewar in dewars:
        if dewar.status in done:
            continue
        if dewar.status not in movable:
            if to_status == S.READY and dewar.status == D.OPENED:
                return f"Print the labels of dewar {dewar.code} first."
            return f"Dewar {dewar.code} is {dewar.status}; the shipment cannot be {to_status}."
        problem = _dewar_guard(dewar, _target)
        if problem:
            return problem
    return None


def allowed_shipment_transitions(shipment: Shipment, user=None) -> list[str]:
    dewars = list(shipment.dewars.all())
    return [to for to in SHIPMENT_TRANSITIONS.get(shipment.status, ())
            if _shipment_guard(shipment, to, dewars) is None
            and (user is None or may_set(user, to, dewar=False))]


# --- changes ----------------------------------------------------------------------------------


def _event(shipment, *, dewar=None, from_status, to_status, by, location="", comment=""):
    return TransportEvent.objects.create(
        shipment=shipment, dewar=dewar, from_status=from_status, to_status=to_status,
        location=location[:60], comment=comment,
        by=by if by is not None and by.is_authenticated else None)


def _move_dewar(shipment, dewar, to_status, *, by, location, comment) -> TransportEvent:
    """Change a locked dewar (guards already checked) and queue the emails."""
    from_status = dewar.status
    dewar.status = to_status
    fields = ["status"]
    if location:
        dewar.location = location[:60]
        fields.append("location")
    if to_status == D.AT_FACILITY and dewar.arrived_at is None:
        dewar.arrived_at = timezone.now()
        fields.append("arrived_at")
    dewar.save(update_fields=fields)
    event = _event(shipment, dewar=dewar, from_status=from_status, to_status=to_status,
                   by=by, location=location, comment=comment)
    from . import emails

    emails.on_dewar_transition(dewar, event)
    return event


def _sync_shipment(shipment: Shipment, *, by, location="", comment="") -> TransportEvent | None:
    """Set the (locked) shipment's status from its dewars; record a change."""
    statuses = list(Dewar.objects.filter(shipment=shipment).values_list("status", flat=True))
    if not statuses:
        return None
    derived = min((_SHIPMENT_OF_DEWAR[s] for s in statuses), key=_SHIPMENT_ORDER.index)
    if derived == shipment.status:
        return None
    from_status = shipment.status
    shipment.status = derived
    fields = ["status"]
    if derived == S.SENT and shipment.shipping_date is None:
        shipment.shipping_date = timezone.localdate()
        fields.append("shipping_date")
    shipment.save(update_fields=fields)
    return _event(shipment, from_status=from_status, to_status=derived, by=by,
                  location=location, comment=comment)


def sync_shipment_status(shipment: Shipment, *, by=None) -> TransportEvent | None:
    """Recompute the shipment's status from its dewars (after a dewar was added or removed)."""
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        event = _sync_shipment(locked, by=by)
        shipment.status, shipment.shipping_date = locked.status, locked.shipping_date
    return event


def _lock(dewar: Dewar) -> tuple[Shipment, Dewar]:
    shipment = Shipment.objects.select_for_update().get(pk=dewar.shipment_id)
    locked = Dewar.objects.select_for_update().get(pk=dewar.pk)
    locked.shipment = shipment
    return shipment, locked


def _refresh(obj, fresh, fields):
    for field in fields:
        setattr(obj, field, getattr(fresh, field))


def change_dewar_status(dewar: Dewar, to_status: str, *, by, location: str = "",
                        comment: str = "") -> TransportEvent:
    """Move ``dewar`` to ``to_status`` (re-reading it locked), record it, keep its shipment's
    status consistent, and send the emails of the transitions that matter (after commit).
    Raises :class:`TransitionError` with the reason."""
    if to_status not in D.values:
        raise TransitionError(f"Unknown dewar status {to_status!r}.")
    with transaction.atomic():
        shipment, locked = _lock(dewar)
        problem = _dewar_guard(locked, to_status)
        if problem:
            raise TransitionError(problem)
        event = _move_dewar(shipment, locked, to_status, by=by, location=location,
                            comment=comment)
        _sync_shipment(shipment, by=by, location=location)
    _refresh(dewar, locked, ["status", "location", "arrived_at"])
    if dewar.shipment_id == shipment.pk and Dewar.shipment.is_cached(dewar):
        _refresh(dewar.shipment, shipment, ["status", "shipping_date"])
    return event


def change_shipment_status(shipment: Shipment, to_status: str, *, by, location: str = "",
                           comment: str = "") -> TransportEvent:
    """Move ``shipment`` and, with it, every dewar that has to follow (``ready``: labels-printed
    dewars become ready; ``sent``: ready dewars are sent; ``at_facility``: sent dewars arrive;
    ``returned``: dispatch-requested dewars are sent back; ``opened``: ready dewars go back to
    labels printed). Raises :class:`TransitionError` with the reason."""
    if to_status not in S.values:
        raise TransitionError(f"Unknown shipment status {to_status!r}.")
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        dewars = list(Dewar.objects.select_for_update().filter(shipment=locked).order_by("pk"))
        problem = _shipment_guard(locked, to_status, dewars)
        if problem:
            raise TransitionError(problem)
        target = {S.READY: D.READY, S.SENT: D.SENT, S.AT_FACILITY: D.AT_FACILITY,
                  S.RETURNED: D.SENT_BACK, S.OPENED: D.LABELS_PRINTED}[to_status]
        for dewar in dewars:
            dewar.shipment = locked
            if to_status == S.AT_FACILITY and dewar.status in AT_FACILITY:
                continue
            if dewar.status != target and target in DEWAR_TRANSITIONS[dewar.status]:
                _move_dewar(locked, dewar, target, by=by, location=location, comment=comment)
        from_status = locked.status
        event = _sync_shipment(locked, by=by, location=location, comment=comment)
        if event is None:  # no dewars (only "opened" gets here) or already there
            locked.status = to_status
            locked.save(update_fields=["status"])
            event = _event(locked, from_status=from_status, to_status=to_status, by=by,
                           location=location, comment=comment)
    _refresh(shipment, locked, ["status", "shipping_date"])
    return event


def record_scan(dewar: Dewar, *, by, location: str, comment: str = "") -> TransportEvent | None:
    """A dewar scanned at a new ``location`` without a status change (moved between racks):
    updates its location and records the scan. Scanning it again where it is records nothing
    (``None``; a scanner's retry)."""
    with transaction.atomic():
        shipment, locked = _lock(dewar)
        if locked.status in PRE_SENT or locked.status == D.SENT_BACK:
            raise TransitionError(f"Dewar {locked.code} is {locked.status}, not at the "
                                  "facility; it cannot be scanned at a location.")
        if not location or location[:60] == locked.location:
            _refresh(dewar, locked, ["status", "location", "arrived_at"])
            return None
        locked.location = location[:60]
        locked.save(update_fields=["location"])
        event = _event(shipment, dewar=locked, from_status=locked.status,
                       to_status=locked.status, by=by, location=location, comment=comment)
    _refresh(dewar, locked, ["status", "location", "arrived_at"])
    return event
