"""PDF downloads of a shipment: dewar labels, return labels, contents sheet.

Members of the shipment's proposal and facility staff print the dewar labels; printing them is
a step of the state machine (every ``opened`` dewar becomes ``labels_printed``). Whoever sees
the proposal (members, staff, the beamline staff of its sessions) may download the return labels
and the contents sheet. Anyone else gets a 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.http import require_GET

from mmcat import permissions as perms

from . import documents, states
from .models import Dewar, Shipment


def _shipment(request, pk, proposals):
    return get_object_or_404(Shipment.objects.select_related("proposal")
                             .filter(proposal__in=proposals), pk=pk)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _refused(message: str) -> HttpResponse:
    return HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")


def _filename(shipment, kind: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in shipment.name)
    return f"{shipment.proposal.reference}-{safe}-{kind}.pdf"


@login_required
@require_GET
def shipment_labels(request, pk):
    """The dewar labels; the shipment's ``opened`` dewars become ``labels_printed``, all or
    none (a refused transition answers 409 with the reason and changes nothing)."""
    shipment = _shipment(request, pk, perms.member_proposals(request.user))
    try:
        content = documents.dewar_labels_pdf(shipment)
    except documents.DocumentError as exc:
        return _refused(str(exc))
    if states.may_set(request.user, Dewar.Status.LABELS_PRINTED):
        try:
            with transaction.atomic():
                for dewar in shipment.dewars.filter(status=Dewar.Status.OPENED).order_by("pk"):
                    states.change_dewar_status(dewar, Dewar.Status.LABELS_PRINTED,
                                               by=request.user, comment="Labels printed.")
        except states.TransitionError as exc:
            return _refused(str(exc))
    return _pdf(content, _filename(shipment, "labels"))


@login_required
@require_GET
def shipment_return_labels(request, pk):
    shipment = _shipment(request, pk, perms.visible_proposals(request.user))
    try:
        content = documents.return_labels_pdf(shipment)
    except documents.DocumentError as exc:
        return _refused(str(exc))
    return _pdf(content, _filename(shipment, "return-labels"))


@login_required
@require_GET
def shipment_contents(request, pk):
    shipment = _shipment(request, pk, perms.visible_proposals(request.user))
    return _pdf(documents.contents_pdf(shipment), _filename(shipment, "contents"))


urlpatterns = [
    path("shipments/<int:pk>/labels.pdf", shipment_labels, name="shipment-labels"),
    path("shipments/<int:pk>/return-labels.pdf", shipment_return_labels,
         name="shipment-return-labels"),
    path("shipments/<int:pk>/contents.pdf", shipment_contents, name="shipment-contents"),
]
