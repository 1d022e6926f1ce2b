"""Scanning dewars at the facility: stores and beamline staff scan a *location* (a store rack
such as ``RACK-A3``, or a beamline name), then one or more *dewar barcodes*.

:func:`scan` is the one function behind the scanning page (:mod:`.facility_views`) and the
scanner-device API: it checks who may scan, reads the location, finds the dewar and moves it
through :func:`mmcat_shipping.states.change_dewar_status`:

* a dewar that was ``sent`` and is scanned in a store location arrives (``at_facility``);
* a dewar scanned at a beamline goes ``at_beamline``;
* a dewar coming back from a beamline (``at_beamline``, ``processing``, ``transfer``) to a
  store location is ``back_in_store``;
* a dewar already in the store (``at_facility``, ``back_in_store``, ``dispatch_requested``)
  scanned at another rack, or one at a beamline scanned at another beamline, keeps its status:
  only its location changes (:func:`mmcat_shipping.states.record_scan`, an event with the same
  from and to status; nothing when it is scanned again where it already is);
* anything else is refused by the state machine (:class:`~mmcat_shipping.states.TransitionError`,
  whose message says why).
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied

from mmcat.models import Beamline

from . import states
from .models import Container, Dewar, TransportEvent

D = Dewar.Status
#: a store location: upper-case words joined by ``-`` or ``_``, e.g. RACK-A3, STORES-IN
STORE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+$")
MAX_LOCATION = 60
#: statuses in which a scan at a store location only changes the location
IN_STORE = frozenset({D.AT_FACILITY, D.BACK_IN_STORE, D.DISPATCH_REQUESTED})
ON_BEAMLINE = frozenset({D.AT_BEAMLINE, D.PROCESSING})


class ScanError(ValueError):
    """A scan that cannot be understood (unknown barcode, bad location); ``str()`` says why."""


def can_scan(user) -> bool:
    """Facility staff and beamline staff (local contacts, beamline service accounts)."""
    if user is None or not user.is_authenticated:
        return False
    return user.sees_everything or user.beamlines.exists()


def _beamline(text: str) -> Beamline | None:
    return Beamline.objects.filter(name__iexact=text).first()


def parse_location(user, text: str) -> tuple[str, bool]:
    """``(location, is_beamline)`` for a scanned location, or :class:`ScanError`.

    A beamline name (any case) gives the beamline's name; beamline staff may only scan their own
    beamlines. A store location is upper-cased (``rack-a3`` → ``RACK-A3``)."""
    text = (text or "").strip()
    if not text:
        raise ScanError("Scan a location first (a store rack such as RACK-A3, or a beamline).")
    beamline = _beamline(text)
    if beamline is not None:
        if not (user.sees_everything or user.beamlines.filter(pk=beamline.pk).exists()):
            raise ScanError(f"{beamline.name} is not one of your beamlines.")
        return beamline.name, True
    code = text.upper()
    if len(code) > MAX_LOCATION:
        raise ScanError(f"A location has at most {MAX_LOCATION} characters.")
    if not STORE_RE.match(code):
        raise ScanError(f"“{text}” is not a beamline or a store location such as RACK-A3.")
    return code, False


def find_dewar(barcode: str) -> Dewar:
    """The dewar with this barcode (any case), or :class:`ScanError` naming what was scanned."""
    code = (barcode or "").strip().upper()
    if not code:
        raise ScanError("No barcode was scanned.")
    dewar = (Dewar.objects.select_related("shipment__proposal")
             .filter(barcode=code).first())
    if dewar is None:
        if Container.objects.filter(barcode=code).exists():
            raise ScanError(f"{code} is a container barcode: scan the dewar's barcode.")
        raise ScanError(f"Unknown barcode {code}: no dewar has it.")
    return dewar


def classify(user, text: str) -> tuple[str, object]:
    """What a single scanner field received: ``("dewar", dewar)`` for a dewar barcode,
    ``("location", (name, is_beamline))`` for a location, else :class:`ScanError`.

    A text beginning with the site's barcode prefix (``MMC-``) is always read as a barcode, so
    that a mistyped barcode is reported as unknown instead of becoming a location."""
    from .barcodes import prefix

    code = (text or "").strip()
    if not code:
        raise ScanError("Nothing was scanned.")
    dewar = (Dewar.objects.select_related("shipment__proposal")
             .filter(barcode=code.upper()).first())
    if dewar is not None:
        return "dewar", dewar
    if code.upper().startswith(f"{prefix()}-"):
        find_dewar(code)  # raises the precise error
    return "location", parse_location(user, code)


def target_status(dewar: Dewar, is_beamline: bool) -> str | None:
    """The status a scan at such a location gives ``dewar`` (``None``: only a move)."""
    if is_beamline:
        return None if dewar.status in ON_BEAMLINE else D.AT_BEAMLINE
    if dewar.status in IN_STORE:
        return None
    if dewar.status in ON_BEAMLINE or dewar.status == D.TRANSFER:
        return D.BACK_IN_STORE
    return D.AT_FACILITY


def scan(user, location: str, barcode: str) -> tuple[Dewar, TransportEvent | None]:
    """Scan the dewar ``barcode`` at ``location`` as ``user``. The event is ``None`` when the
    dewar was scanned again where it already is (nothing to record: a scanner's retry).

    Raises :class:`~django.core.exceptions.PermissionDenied` for someone who is neither facility
    nor beamline staff, :class:`ScanError` for a bad location or unknown barcode, and
    :class:`~mmcat_shipping.states.TransitionError` for a move the state machine refuses."""
    if not can_scan(user):
        raise PermissionDenied("Only facility and beamline staff scan dewars.")
    name, is_beamline = parse_location(user, location)
    dewar = find_dewar(barcode)
    to_status = target_status(dewar, is_beamline)
    if to_status is None:
        return dewar, states.record_scan(dewar, by=user, location=name, comment="Scanned.")
    event = states.change_dewar_status(dewar, to_status, by=user, location=name,
                                       comment="Scanned.")
    return dewar, event
