"""Emails on the transitions that matter, sent after the transaction commits (a refused or
rolled-back change sends nothing):

* a dewar arrived at the facility → the shipment's sending contact and the proposal's PI;
* a dewar was sent back → the return contact (else the sending contact), with the tracking
  number;
* a dewar's dispatch was requested → the facility's stores (plugin setting ``stores_email``;
  none by default, then nobody).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from .models import Dewar


def _recipients(*addresses) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        if address and address not in seen:
            seen.append(address)
    return seen


def recipients_for(dewar: Dewar, to_status: str) -> list[str]:
    shipment = dewar.shipment
    sending = shipment.sending_contact.email if shipment.sending_contact_id else ""
    if to_status == Dewar.Status.AT_FACILITY:
        return _recipients(sending, shipment.proposal.pi.email)
    if to_status == Dewar.Status.SENT_BACK:
        ret = shipment.return_contact.email if shipment.return_contact_id else ""
        return _recipients(ret or sending)
    if to_status == Dewar.Status.DISPATCH_REQUESTED:
        stores = apps.get_app_config("shipping").get_setting("stores_email") or ""
        return _recipients(*([stores] if isinstance(stores, str) else stores))
    return []


TEMPLATES = {
    Dewar.Status.AT_FACILITY: ("arrived", "Dewar {code} of {shipment} arrived at the facility"),
    Dewar.Status.SENT_BACK: ("sent_back", "Dewar {code} of {shipment} was sent back"),
    Dewar.Status.DISPATCH_REQUESTED: ("dispatch_requested",
                                      "Dispatch requested: dewar {code} ({barcode})"),
}


def on_dewar_transition(dewar: Dewar, event) -> None:
    """Queue the email of this transition, if it is one that matters."""
    if event.to_status not in TEMPLATES:
        return
    to = recipients_for(dewar, event.to_status)
    if not to:
        return
    transaction.on_commit(lambda: _send(dewar, event, to))


def _send(dewar: Dewar, event, to: list[str]) -> None:
    """Render (after commit, so the shipment's status is the final one) and send."""
    name, subject = TEMPLATES[event.to_status]
    shipment = dewar.shipment
    context = {"dewar": dewar, "shipment": shipment, "proposal": shipment.proposal,
               "event": event, "return_contact": shipment.return_contact}
    subject = subject.format(code=dewar.code, shipment=shipment.name, barcode=dewar.barcode)
    body = render_to_string(f"shipping/emails/{name}.txt", context)
    send_mail(f"[mmCAT] {subject}", body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=True)
