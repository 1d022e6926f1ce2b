"""The facility side: the scanning page for stores and beamline staff, and the rack view.

Both pages are for facility staff (``sees_everything``) and beamline staff (``user.beamlines``);
anybody else gets a 404. Scanning goes through :func:`mmcat_shipping.scanning.scan`, shared with
the scanner-device API.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from . import scanning, states
from .models import Dewar, TransportEvent

RECENT_SCANS = 20


def _require_scanner(request):
    if not scanning.can_scan(request.user):
        raise Http404("No such page.")


def since(moment, now=None) -> str:
    """Time since ``moment``, coarse: ``"3 d 4 h"``, ``"5 h 12 min"``, ``"7 min"``."""
    if moment is None:
        return "—"
    seconds = max(0, int(((now or timezone.now()) - moment).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


# --- scanning ----------------------------------------------------------------------------------

def _line(*, ok, text, dewar=None, event=None, location=""):
    return {"ok": ok, "text": text, "dewar": dewar, "event": event, "location": location,
            "at": timezone.now()}


def _handle(user, location: str, code: str) -> tuple[str, dict]:
    """One scan from the page's single field: a new location or a dewar at the current one.
    Returns the location to keep and the line to show."""
    try:
        kind, value = scanning.classify(user, code)
    except scanning.ScanError as exc:
        return location, _line(ok=False, text=str(exc), location=location)
    if kind == "location":
        name, is_beamline = value
        where = "beamline" if is_beamline else "store location"
        return name, _line(ok=True, text=f"Location set: {where} {name}.", location=name)
    dewar = value
    if not location:
        return location, _line(ok=False, dewar=dewar, text=(
            f"Scan a location first (a store rack such as RACK-A3, or a beamline), then "
            f"{dewar.barcode}."))
    try:
        dewar, event = scanning.scan(user, location, dewar.barcode)
    except (scanning.ScanError, states.TransitionError) as exc:
        return location, _line(ok=False, dewar=dewar, text=str(exc), location=location)
    text = f"{dewar.get_status_display()} at {dewar.location}"
    if event is None:
        text = f"Already there ({text.lower()}): nothing changed."
    return location, _line(ok=True, dewar=dewar, event=event, location=location, text=text)


def _recent(user):
    events = (TransportEvent.objects.filter(by=user, dewar__isnull=False)
              .select_related("dewar__shipment__proposal")
              .order_by("-at", "-id")[:RECENT_SCANS])
    return [_line(ok=True, dewar=e.dewar, event=e, location=e.location,
                  text=f"{Dewar.Status(e.to_status).label} at {e.location}"
                  if e.to_status in Dewar.Status.values else e.to_status) | {"at": e.at}
            for e in events]


@login_required
@require_http_methods(["GET", "POST"])
def scan_page(request):
    """A single autofocused field that a USB barcode scanner types into (it ends with Enter):
    scan a location, then dewar barcodes. With htmx the answer is one line of the log (and the
    new location, out of band); without JavaScript the whole page comes back."""
    _require_scanner(request)
    location = request.POST.get("location", "").strip() if request.method == "POST" else ""
    line = None
    if request.method == "POST":
        location, line = _handle(request.user, location, request.POST.get("code", ""))
        if request.headers.get("HX-Request"):
            return render(request, "shipping/facility/_scan_result.html",
                          {"line": line, "location": location, "oob": True})
    lines = ([line] if line else []) + _recent(request.user)
    return render(request, "shipping/facility/scan.html",
                  {"location": location, "lines": lines})


# --- rack view ---------------------------------------------------------------------------------

def rack_groups(now=None):
    """Dewars at the facility grouped by location (sorted by name; no location last), each
    group oldest arrival first. One query."""
    now = now or timezone.now()
    dewars = (Dewar.objects.filter(status__in=states.AT_FACILITY)
              .select_related("shipment__proposal")
              .order_by("location", "arrived_at", "pk"))
    groups: dict[str, list] = {}
    for dewar in dewars:
        dewar.since = since(dewar.arrived_at, now)
        dewar.days = ((now - dewar.arrived_at).days if dewar.arrived_at else 0)
        groups.setdefault(dewar.location, []).append(dewar)
    for members in groups.values():  # nulls (never arrived) last, then by arrival
        members.sort(key=lambda d: (d.arrived_at is None, d.arrived_at or now, d.pk))
    ordered = sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))
    return [{"location": name or "No location", "dewars": members}
            for name, members in ordered]


@login_required
def racks(request):
    """Dewars at the facility by location, with time since arrival (oldest first)."""
    _require_scanner(request)
    groups = rack_groups()
    return render(request, "shipping/facility/racks.html", {
        "groups": groups, "total": sum(len(g["dewars"]) for g in groups)})


urlpatterns = [
    path("scan/", scan_page, name="scan"),
    path("racks/", racks, name="racks"),
]
