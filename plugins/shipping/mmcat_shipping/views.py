"""The user's shipping screens: the shipment list, the shipment page (dewars, containers, lab
contacts, status buttons), the puck editor with its drawing, a dewar's history, and the panels
the core pages load (session, proposal).

Every view starts from :mod:`mmcat.permissions` (an object outside them is a 404); members of
the proposal and staff may edit, other viewers only see. Every write goes through
:mod:`mmcat_shipping.services` and :mod:`mmcat_shipping.states`, which enforce the rules; their
messages are shown next to the field. Pages read what they show in a fixed number of queries.

htmx: the forms post with ``hx-post`` and swap ``#main`` from the answer (a redirect to the page
on success, the page with the bound form on error), so they work without JavaScript as well.
"""

from __future__ import annotations

import math
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from mmcat import permissions as perms
from mmcat.models import Sample, Session
from mmcat.web.paging import paginate

from .models import Container, Dewar, LabContact, SamplePosition, Shipment, TransportEvent

SAMPLE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SAMPLE_NAME_MAX = 25
#: shipments whose contents can still be changed (the services refuse the others)
EDITABLE = (Shipment.Status.OPENED, Shipment.Status.READY)
PANEL_LIMIT = 20


# --- access ----------------------------------------------------------------------------------

def _visible_shipments(user):
    return Shipment.objects.filter(proposal__in=perms.visible_proposals(user))


def _may_edit(user, proposal_id) -> bool:
    """Members of the proposal and staff edit; other viewers only see."""
    return user.sees_everything or perms.member_proposals(user).filter(pk=proposal_id).exists()


def _editable_or_refuse(request, proposal_id):
    if not _may_edit(request.user, proposal_id):
        raise PermissionDenied("Only the proposal's members and facility staff edit shipments.")


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names (the rest on top)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message if target or field == "__all__"
                               else f"{field.replace('_', ' ').capitalize()}: {message}")
    else:
        for message in error.messages:
            form.add_error(None, message)


def _services():
    from . import services

    return services


def _states():
    from . import states

    return states


# --- forms -----------------------------------------------------------------------------------

class ShipmentForm(forms.Form):
    name = forms.CharField(max_length=45, help_text="Letters, digits, spaces, _ and -.")
    safety_level = forms.ChoiceField(choices=Shipment.Safety.choices, initial="green")
    sessions = forms.ModelMultipleChoiceField(queryset=Session.objects.none(), required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text="The visits the samples are for.")
    sending_contact = forms.ModelChoiceField(queryset=LabContact.objects.none(), required=False,
                                             label="Sent by")
    return_contact = forms.ModelChoiceField(queryset=LabContact.objects.none(), required=False,
                                            label="Return to")
    courier = forms.CharField(max_length=60, required=False)
    courier_account = forms.CharField(max_length=60, required=False)
    comments = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sessions"].queryset = proposal.sessions.select_related("beamline")
        self.fields["sessions"].label_from_instance = (
            lambda s: f"{s.reference} · {s.beamline} · {s.start:%d %b %Y}")
        contacts = LabContact.objects.filter(proposal=proposal)
        for name in ("sending_contact", "return_contact"):
            self.fields[name].queryset = contacts


class LabContactForm(forms.ModelForm):
    class Meta:
        model = LabContact
        fields = ["name", "email", "phone", "laboratory", "address", "city", "postcode",
                  "country", "courier", "courier_account"]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.proposal = proposal
        self.prefix = "contact"


class DewarForm(forms.Form):
    code = forms.CharField(max_length=45, label="Dewar code",
                           help_text="Your name for the dewar: letters, digits, _ and -.")
    weight = forms.FloatField(required=False, min_value=0, label="Weight (kg)")
    comments = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "dewar")
        super().__init__(*args, **kwargs)


class ContainerForm(forms.Form):
    code = forms.CharField(max_length=45, label="Container code",
                           help_text="e.g. the puck's name: letters, digits, _ and -.")
    type = forms.ChoiceField(choices=Container.Type.choices, initial="unipuck")
    capacity = forms.IntegerField(required=False, min_value=1, max_value=384,
                                  help_text="Unipuck 16, SPINE 10, plate 96.")
    queue_for_unattended = forms.BooleanField(required=False,
                                              label="Queue for unattended collection")

    def __init__(self, *args, dewar_id=None, queue=True, **kwargs):
        kwargs.setdefault("prefix", f"container-{dewar_id}" if dewar_id else "container")
        super().__init__(*args, **kwargs)
        if not queue:  # the puck page has its own toggle
            del self.fields["queue_for_unattended"]
        self.fields["capacity"].widget.attrs["placeholder"] = "16"
        self.fields["type"].widget.attrs["data-capacities"] = "unipuck:16 spine:10 plate:96"


class PlaceForm(forms.Form):
    """Put a sample in a position: an existing sample of the proposal, or a new one."""

    position = forms.IntegerField(min_value=1)
    sample = forms.ModelChoiceField(queryset=Sample.objects.none(), required=False,
                                    label="Existing sample", empty_label="— a new sample —")
    acronym = forms.CharField(max_length=45, required=False, label="Protein acronym")
    name = forms.CharField(max_length=SAMPLE_NAME_MAX, required=False, label="Sample name",
                           help_text="Letters, digits, _ and -; at most 25 characters.")
    pin_barcode = forms.CharField(max_length=45, required=False)

    def __init__(self, *args, container, free_samples, **kwargs):
        super().__init__(*args, **kwargs)
        self.container = container
        self.fields["position"] = forms.IntegerField(
            min_value=1, max_value=container.capacity,
            help_text=f"1 to {container.capacity}.")
        self.fields["sample"].queryset = free_samples
        for name in ("acronym", "name"):
            self.fields[name].widget.attrs["pattern"] = "[A-Za-z0-9_\\-]+"

    def clean(self):
        data = super().clean()
        if data.get("sample"):
            return data
        acronym, name = data.get("acronym", ""), data.get("name", "")
        if not acronym and "acronym" not in self.errors:
            self.add_error("acronym", "Choose an existing sample or give a protein acronym.")
        elif acronym and not SAMPLE_NAME_RE.match(acronym):
            self.add_error("acronym", "Use letters, digits, '_' and '-' only.")
        if not name and "name" not in self.errors:
            self.add_error("name", "Choose an existing sample or give a sample name.")
        elif name and not SAMPLE_NAME_RE.match(name):
            self.add_error("name", "Use letters, digits, '_' and '-' only.")
        if (acronym and name and not self.errors
                and Sample.objects.filter(proposal_id=self.container.dewar.shipment.proposal_id,
                                          component=acronym, name=name).exists()):
            self.add_error("name", f"The proposal already has a sample {acronym}-{name}; "
                                   "choose it in the list of existing samples.")
        return data


def _edit_form(form_class, data, **kwargs):
    return form_class(data, **kwargs) if data is not None else form_class(**kwargs)


# --- shipment list ---------------------------------------------------------------------------

@login_required
def shipment_list(request):
    shipments = (_visible_shipments(request.user).select_related("proposal")
                 .annotate(n_dewars=Count("dewars")).order_by("-created_at", "-id"))
    page = paginate(request, shipments)
    proposals = list(perms.member_proposals(request.user).order_by("code", "number")[:500])
    return render(request, "shipping/shipment_list.html",
                  {"page": page, "shipments": list(page), "proposals": proposals})


# --- shipment: new, page, edit, delete, status -----------------------------------------------

@login_required
def shipment_new(request):
    try:
        proposal_id = int(request.GET.get("proposal") or request.POST.get("proposal") or 0)
    except ValueError:
        proposal_id = 0
    proposal = get_object_or_404(perms.member_proposals(request.user), pk=proposal_id)
    form = ShipmentForm(request.POST or None, proposal=proposal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shipment = _services().create_shipment(
                proposal, name=data["name"], safety_level=data["safety_level"],
                sessions=list(data["sessions"]), sending_contact=data["sending_contact"],
                return_contact=data["return_contact"], courier=data["courier"],
                courier_account=data["courier_account"], comments=data["comments"],
                by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Shipment {shipment.name} created. Add its dewars.")
            return redirect("shipping:shipment-detail", shipment.pk)
    return render(request, "shipping/shipment_new.html", {"proposal": proposal, "form": form})


def _shipment_for_page(request, pk):
    return get_object_or_404(
        _visible_shipments(request.user).select_related(
            "proposal", "sending_contact", "return_contact", "created_by"), pk=pk)


def _shipment_context(request, shipment, *, bound=None):
    """Everything the shipment page shows, in a fixed number of queries. ``bound`` carries the
    forms of a failed post (shown with their errors)."""
    bound = bound or {}
    can_edit = _may_edit(request.user, shipment.proposal_id)
    editable = can_edit and shipment.status in EDITABLE
    dewars = list(
        shipment.dewars.select_related("registry").prefetch_related(Prefetch(
            "containers",
            queryset=Container.objects.annotate(n_samples=Count("positions")).order_by("code"),
        )).order_by("code", "id"))
    shipment_buttons = _offer_transitions(request.user, shipment, dewars) if can_edit else []
    for dewar in dewars:
        dewar.container_form = bound.get(("container", dewar.pk)) or ContainerForm(
            dewar_id=dewar.pk)
        dewar.n_samples = sum(c.n_samples for c in dewar.containers.all())
        dewar.open_container_form = bound.get("open") == f"container-add-{dewar.pk}"
        dewar.open_edit_form = bound.get("open") == f"dewar-edit-{dewar.pk}"
        dewar.edit_form = bound.get(("dewar", dewar.pk)) or DewarForm(
            prefix=f"dewar-{dewar.pk}", initial={"code": dewar.code, "weight": dewar.weight,
                                                 "comments": dewar.comments})
    contacts = list(LabContact.objects.filter(proposal_id=shipment.proposal_id))
    shipment_sessions = list(shipment.sessions.select_related("beamline").order_by("start"))
    edit_form = bound.get("shipment")
    if edit_form is None and editable:
        edit_form = ShipmentForm(proposal=shipment.proposal, initial={
            "name": shipment.name, "safety_level": shipment.safety_level,
            "sessions": [s.pk for s in shipment_sessions],
            "sending_contact": shipment.sending_contact_id,
            "return_contact": shipment.return_contact_id, "courier": shipment.courier,
            "courier_account": shipment.courier_account, "comments": shipment.comments})
    if edit_form is not None:  # the session choices, read once
        edit_form.fields["sessions"].queryset = shipment.proposal.sessions.select_related(
            "beamline")
    return {
        "shipment": shipment,
        "proposal": shipment.proposal,
        "can_edit": can_edit,
        "editable": editable,
        "transitions": shipment_buttons,
        "dewars": dewars,
        "n_containers": sum(len(d.containers.all()) for d in dewars),
        "contacts": contacts,
        "shipment_sessions": shipment_sessions,
        "edit_form": edit_form,
        "dewar_form": bound.get("dewar") or DewarForm(),
        "contact_form": bound.get("contact") or LabContactForm(proposal=shipment.proposal),
        "open_form": bound.get("open", ""),
    }


#: the words of the status buttons
VERBS = {
    "opened": "Reopen for changes", "labels_printed": "Labels printed",
    "ready": "Mark ready to send", "sent": "Mark sent", "at_facility": "Arrived at facility",
    "at_beamline": "At beamline", "processing": "Processing", "back_in_store": "Back in store",
    "dispatch_requested": "Request dispatch", "sent_back": "Sent back",
    "transfer": "Transfer", "returned": "Sent back",
}


def _content_problem(dewar) -> str:
    """Why ``dewar`` cannot be ready yet, from its prefetched containers (display only)."""
    containers = list(dewar.containers.all())
    if not containers:
        return "Add a container to this dewar."
    empty = [c.code for c in containers if not c.n_samples]
    return f"Place samples in {', '.join(empty)}." if empty else ""


def _offer_transitions(user, shipment, dewars) -> list[tuple[str, str]]:
    """The status buttons of the page, as (status, words): the transitions of the state tables
    that ``user`` may ask for, less those the rows read for the page already show to be
    refused. Each dewar gets ``transitions`` and a ``hint``. Display only: the click goes to
    :mod:`.states`, which checks every guard again (a fixed number of queries, however many
    dewars; ``states.allowed_*`` reads the contents of each dewar)."""
    states = _states()
    D, S = Dewar.Status, Shipment.Status
    queued = any(c.queue_for_unattended for d in dewars for c in d.containers.all())
    safety = ("Unattended collection is for green shipments only; unqueue the containers."
              if queued and shipment.safety_level != Shipment.Safety.GREEN else "")
    for dewar in dewars:
        problem = _content_problem(dewar) or safety
        dewar.hint = problem if dewar.status in (D.OPENED, D.LABELS_PRINTED, D.READY) else ""
        dewar.transitions = [
            (to, VERBS.get(to, to)) for to in states.DEWAR_TRANSITIONS.get(dewar.status, ())
            if states.may_set(user, to) and not (problem and to in (D.READY, D.SENT))]
    statuses = {d.status for d in dewars}
    fine = not any(d.hint for d in dewars)
    possible = {
        S.READY: bool(dewars) and fine and statuses <= {D.LABELS_PRINTED, D.READY},
        S.SENT: bool(dewars) and fine and statuses <= {D.READY, D.SENT},
        S.OPENED: True,
        S.AT_FACILITY: bool(dewars) and statuses <= {D.SENT, *states.AT_FACILITY},
        S.RETURNED: bool(dewars) and statuses <= {D.DISPATCH_REQUESTED, D.SENT_BACK},
    }
    return [(to, VERBS.get(to, to)) for to in states.SHIPMENT_TRANSITIONS.get(shipment.status, ())
            if possible.get(to, True) and states.may_set(user, to, dewar=False)]


def _shipment_page(request, shipment, *, bound=None, status=200):
    return render(request, "shipping/shipment_detail.html",
                  _shipment_context(request, shipment, bound=bound), status=status)


def _back(request, url):
    """Success: back to the page (htmx follows the redirect and swaps ``#main``)."""
    return redirect(url)


@login_required
def shipment_detail(request, pk):
    return _shipment_page(request, _shipment_for_page(request, pk))


@login_required
@require_POST
def shipment_edit(request, pk):
    shipment = _shipment_for_page(request, pk)
    _editable_or_refuse(request, shipment.proposal_id)
    form = ShipmentForm(request.POST, proposal=shipment.proposal)
    if form.is_valid():
        data = form.cleaned_data
        try:
            _services().update_shipment(
                shipment, name=data["name"], safety_level=data["safety_level"],
                sessions=list(data["sessions"]), sending_contact=data["sending_contact"],
                return_contact=data["return_contact"], courier=data["courier"],
                courier_account=data["courier_account"], comments=data["comments"],
                by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Shipment saved.")
            return _back(request, reverse("shipping:shipment-detail", args=[pk]))
    shipment.refresh_from_db()
    return _shipment_page(request, shipment, bound={"shipment": form, "open": "shipment-edit"})


@login_required
@require_POST
def shipment_delete(request, pk):
    shipment = _shipment_for_page(request, pk)
    _editable_or_refuse(request, shipment.proposal_id)
    try:
        _services().delete_shipment(shipment, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("shipping:shipment-detail", pk)
    messages.success(request, f"Shipment {shipment.name} deleted.")
    return redirect("shipping:shipment-list")


@login_required
@require_POST
def shipment_status(request, pk):
    shipment = _shipment_for_page(request, pk)
    _editable_or_refuse(request, shipment.proposal_id)
    states = _states()
    to = request.POST.get("to", "")
    try:
        states.change_shipment_status(shipment, to, by=request.user)
    except (states.TransitionError, ValidationError) as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"Shipment {shipment.name}: "
                                  f"{Shipment.Status(to).label.lower()}.")
    return redirect("shipping:shipment-detail", pk)


def _message(error) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@login_required
@require_POST
def contact_add(request, pk):
    """A lab contact of the shipment's proposal, created from the shipment page; it becomes the
    shipment's sending and return contact where those are still empty."""
    shipment = _shipment_for_page(request, pk)
    _editable_or_refuse(request, shipment.proposal_id)
    form = LabContactForm(request.POST, proposal=shipment.proposal)
    if form.is_valid():
        services = _services()
        try:
            with transaction.atomic():
                contact = services.create_lab_contact(shipment.proposal, by=request.user,
                                                      **form.cleaned_data)
                empty = {field: contact for field in ("sending_contact", "return_contact")
                         if getattr(shipment, f"{field}_id") is None}
                if empty:
                    services.update_shipment(shipment, by=request.user, **empty)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Lab contact {contact.name} added.")
            return _back(request, reverse("shipping:shipment-detail", args=[pk]))
    return _shipment_page(request, shipment, bound={"contact": form, "open": "contact-add"})


# --- dewars ----------------------------------------------------------------------------------

def _dewar_for_edit(request, pk):
    dewar = get_object_or_404(
        Dewar.objects.filter(shipment__proposal__in=perms.visible_proposals(request.user))
        .select_related("shipment__proposal"), pk=pk)
    _editable_or_refuse(request, dewar.shipment.proposal_id)
    return dewar


@login_required
@require_POST
def dewar_add(request, pk):
    shipment = _shipment_for_page(request, pk)
    _editable_or_refuse(request, shipment.proposal_id)
    form = DewarForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            dewar = _services().add_dewar(shipment, code=data["code"], weight=data["weight"],
                                          comments=data["comments"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Dewar {dewar.code} added ({dewar.barcode}).")
            return _back(request, reverse("shipping:shipment-detail", args=[pk]))
    return _shipment_page(request, shipment, bound={"dewar": form, "open": "dewar-add"})


@login_required
@require_POST
def dewar_edit(request, pk):
    dewar = _dewar_for_edit(request, pk)
    form = DewarForm(request.POST, prefix=f"dewar-{dewar.pk}")
    if form.is_valid():
        try:
            _services().update_dewar(dewar, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Dewar {dewar.code} saved.")
            return _back(request, reverse("shipping:shipment-detail", args=[dewar.shipment_id]))
    shipment = _shipment_for_page(request, dewar.shipment_id)
    return _shipment_page(request, shipment, bound={("dewar", dewar.pk): form,
                                                    "open": f"dewar-edit-{dewar.pk}"})


@login_required
@require_POST
def dewar_delete(request, pk):
    dewar = _dewar_for_edit(request, pk)
    try:
        _services().delete_dewar(dewar, by=request.user)
    except ValidationError as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"Dewar {dewar.code} deleted.")
    return _back(request, reverse("shipping:shipment-detail", args=[dewar.shipment_id]))


@login_required
@require_POST
def dewar_status(request, pk):
    dewar = _dewar_for_edit(request, pk)
    states = _states()
    to = request.POST.get("to", "")
    try:
        states.change_dewar_status(dewar, to, by=request.user)
    except (states.TransitionError, ValidationError) as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"Dewar {dewar.code}: {Dewar.Status(to).label.lower()}.")
    return _back(request, reverse("shipping:shipment-detail", args=[dewar.shipment_id]))


@login_required
def dewar_history(request, pk):
    dewar = get_object_or_404(
        Dewar.objects.filter(shipment__proposal__in=perms.visible_proposals(request.user))
        .select_related("shipment__proposal"), pk=pk)
    events = list(TransportEvent.objects.filter(dewar=dewar)
                  .select_related("by", "container").order_by("-at", "-id"))
    labels = {**dict(Shipment.Status.choices), **dict(Dewar.Status.choices),
              "added": "Added"}
    for e in events:
        e.from_label = labels.get(e.from_status, e.from_status)
        e.to_label = labels.get(e.to_status, e.to_status)
    return render(request, "shipping/dewar_history.html", {
        "dewar": dewar, "shipment": dewar.shipment, "events": events,
        "timeline": timeline_svg(events)})


# --- containers ------------------------------------------------------------------------------

@login_required
@require_POST
def container_add(request, pk):
    dewar = _dewar_for_edit(request, pk)
    form = ContainerForm(request.POST, dewar_id=dewar.pk)
    if form.is_valid():
        data = form.cleaned_data
        try:
            container = _services().add_container(
                dewar, code=data["code"], type=data["type"], capacity=data["capacity"],
                queue_for_unattended=data["queue_for_unattended"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{container.get_type_display()} {container.code} added "
                                      f"to dewar {dewar.code}.")
            return _back(request, reverse("shipping:shipment-detail", args=[dewar.shipment_id]))
    shipment = _shipment_for_page(request, dewar.shipment_id)
    return _shipment_page(request, shipment, bound={("container", dewar.pk): form,
                                                    "open": f"container-add-{dewar.pk}"})


@login_required
@require_POST
def container_edit(request, pk):
    container = _container_for_edit(request, pk)
    form = ContainerForm(request.POST, prefix="edit", queue=False)
    if form.is_valid():
        try:
            _services().update_container(container, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Container {container.code} saved.")
            return _back(request, reverse("shipping:container-detail", args=[pk]))
    container.refresh_from_db()
    return _container_page(request, container, edit_form=form)


@login_required
@require_POST
def container_delete(request, pk):
    container = _container_for_edit(request, pk)
    try:
        _services().delete_container(container, by=request.user)
    except ValidationError as error:
        messages.error(request, _message(error))
        return _back(request, reverse("shipping:container-detail", args=[pk]))
    messages.success(request, f"Container {container.code} deleted.")
    return _back(request, reverse("shipping:shipment-detail",
                                  args=[container.dewar.shipment_id]))


def _containers(user):
    return Container.objects.filter(
        dewar__shipment__proposal__in=perms.visible_proposals(user)
    ).select_related("dewar__shipment__proposal")


def _container_for_edit(request, pk):
    container = get_object_or_404(_containers(request.user), pk=pk)
    _editable_or_refuse(request, container.dewar.shipment.proposal_id)
    return container


def _free_samples(proposal_id):
    return (Sample.objects.filter(proposal_id=proposal_id, shipping_position__isnull=True)
            .order_by("component", "name"))


def _position_param(request, capacity) -> int | None:
    try:
        value = int(request.GET.get("position", ""))
    except ValueError:
        return None
    return value if 1 <= value <= capacity else None


def _container_page(request, container, *, form=None, edit_form=None, selected=None,
                    status=200):
    shipment = container.dewar.shipment
    can_edit = _may_edit(request.user, shipment.proposal_id)
    editable = can_edit and shipment.status in EDITABLE
    placed = list(SamplePosition.objects.filter(container=container)
                  .select_related("sample").order_by("position"))
    occupants = {p.position: p.sample for p in placed}
    by_position = {p.position: p for p in placed}
    if selected is None:
        selected = _position_param(request, container.capacity)
    if form is None and editable:
        first_free = next((n for n in range(1, container.capacity + 1) if n not in occupants),
                          None)
        initial = {"position": selected if selected and selected not in occupants
                   else first_free}
        if placed and not selected:  # continue the last sample's protein
            initial["acronym"] = placed[-1].sample.component
        form = PlaceForm(container=container, free_samples=_free_samples(shipment.proposal_id),
                         initial=initial)
    rows = [{"position": n, "label": plate_label(n) if container.type == "plate" else str(n),
             "placed": by_position.get(n)} for n in range(1, container.capacity + 1)]
    return render(request, "shipping/container_detail.html", {
        "container": container, "dewar": container.dewar, "shipment": shipment,
        "proposal": shipment.proposal, "can_edit": can_edit, "editable": editable,
        "svg": container_svg(container, occupants, selected=selected),
        "rows": rows, "n_filled": len(placed), "form": form, "selected": selected,
        "selected_position": by_position.get(selected),
        "edit_form": edit_form or (ContainerForm(prefix="edit", queue=False, initial={
            "code": container.code, "type": container.type, "capacity": container.capacity})
            if editable else None),
        "queue_error": "",
    }, status=status)


@login_required
def container_detail(request, pk):
    return _container_page(request, get_object_or_404(_containers(request.user), pk=pk))


@login_required
@require_POST
def container_place(request, pk):
    container = _container_for_edit(request, pk)
    proposal_id = container.dewar.shipment.proposal_id
    form = PlaceForm(request.POST, container=container,
                     free_samples=_free_samples(proposal_id))
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                sample = data["sample"] or _new_sample(proposal_id, data["acronym"],
                                                       data["name"])
                placed = _services().place_sample(container, data["position"], sample,
                                                  pin_barcode=data["pin_barcode"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{placed.sample} in position {placed.position}.")
            return _back(request, reverse("shipping:container-detail", args=[pk]))
    return _container_page(request, container, form=form,
                           selected=form.cleaned_data.get("position")
                           if hasattr(form, "cleaned_data") else None)


def _new_sample(proposal_id, acronym, name) -> Sample:
    sample = Sample(proposal_id=proposal_id, component=acronym, name=name)
    try:
        sample.full_clean()
    except ValidationError as error:
        raise ValidationError({("acronym" if k == "component" else k): v
                               for k, v in error.message_dict.items()}) from error
    sample.save()
    return sample


@login_required
@require_POST
def container_remove(request, pk):
    container = _container_for_edit(request, pk)
    try:
        position = int(request.POST.get("position", ""))
    except ValueError as error:
        raise Http404("No such position.") from error
    try:
        _services().remove_sample(container, position, by=request.user)
    except ValidationError as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"Position {position} emptied.")
    return _back(request, reverse("shipping:container-detail", args=[pk]))


@login_required
@require_POST
def container_queue(request, pk):
    container = _container_for_edit(request, pk)
    queue = request.POST.get("queue") == "on"
    try:
        _services().update_container(container, queue_for_unattended=queue,
                                     by=request.user)
    except ValidationError as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"Container {container.code} "
                                  f"{'queued' if queue else 'no longer queued'} for unattended "
                                  "collection.")
    return _back(request, reverse("shipping:container-detail", args=[pk]))


# --- panels on the core pages ----------------------------------------------------------------

def _dewars_with_containers():
    return Prefetch("dewars", queryset=Dewar.objects.order_by("code").prefetch_related(
        Prefetch("containers", queryset=Container.objects.annotate(
            n_samples=Count("positions")).order_by("code"))))


@login_required
def session_panel(request, pk):
    """The session page's panel: the session's shipments, dewars and containers."""
    session = get_object_or_404(perms.visible_sessions(request.user), pk=pk)
    shipments = list(session.shipments.order_by("-created_at", "-id")
                     .prefetch_related(_dewars_with_containers())[:PANEL_LIMIT])
    return render(request, "shipping/_session_panel.html", {
        "session": session, "shipments": shipments,
        "can_edit": _may_edit(request.user, session.proposal_id)})


@login_required
def proposal_panel(request, pk):
    """The proposal page's panel: its shipments and a "New shipment" link."""
    proposal = get_object_or_404(perms.visible_proposals(request.user), pk=pk)
    shipments = list(proposal.shipments.annotate(n_dewars=Count("dewars"))
                     .order_by("-created_at", "-id")[:PANEL_LIMIT])
    return render(request, "shipping/_proposal_panel.html", {
        "proposal": proposal, "shipments": shipments,
        "n_shipments": proposal.shipments.count() if len(shipments) == PANEL_LIMIT
        else len(shipments),
        "can_edit": _may_edit(request.user, proposal.pk)})


# --- server-side SVG: the container drawing and the dewar timeline ---------------------------


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def plate_label(position: int) -> str:
    """Position 1..96 of an 8 × 12 plate as A1..H12 (row by row)."""
    row, col = divmod(position - 1, 12)
    return f"{'ABCDEFGH'[row]}{col + 1}" if row < 8 else str(position)


def layout(kind: str, capacity: int) -> tuple[int, int, float, list[tuple[int, float, float]]]:
    """(width, height, radius, [(position, x, y)]) of a container's positions."""
    if kind == "unipuck" and capacity == 16:
        size, c, r = 380, 190, 27
        points = [(i + 1, c + 62 * math.sin(2 * math.pi * i / 5),
                   c - 62 * math.cos(2 * math.pi * i / 5)) for i in range(5)]
        points += [(i + 6, c + 150 * math.sin(2 * math.pi * i / 11),
                    c - 150 * math.cos(2 * math.pi * i / 11)) for i in range(11)]
        return size, size, r, points
    if kind in ("unipuck", "spine"):
        # one ring; the ring grows with the number of positions
        r = 27
        ring = max(70.0, capacity * (2 * r + 12) / (2 * math.pi))
        size = int(2 * (ring + r + 12))
        c = size / 2
        points = [(i + 1, c + ring * math.sin(2 * math.pi * i / capacity),
                   c - ring * math.cos(2 * math.pi * i / capacity)) for i in range(capacity)]
        return size, size, r, points
    if kind == "plate":
        cols, r, step, margin = 12, 15, 36, 30
    else:
        cols, r, step, margin = 8, 27, 64, 10
    rows = math.ceil(capacity / cols)
    points = [(p, margin + step / 2 + ((p - 1) % cols) * step,
               margin + step / 2 + ((p - 1) // cols) * step) for p in range(1, capacity + 1)]
    width = int(2 * margin + min(capacity, cols) * step)
    height = int(2 * margin + rows * step)
    return width, height, r, points


def container_svg(container, occupants: dict[int, object], *, href: str = "?position={}",
                  selected: int | None = None) -> SafeString:
    """The drawing of ``container``: ``occupants`` maps a position to its core Sample. Filled
    positions are coloured and labelled protein-sample; each position links to ``href``."""
    kind = container.type
    width, height, r, points = layout(kind, container.capacity)
    plate = kind == "plate"
    filled = len(occupants)
    title = (f"{container.get_type_display()} {container.code}: {filled} of "
             f"{container.capacity} positions filled")
    out = [f'<svg class="puck-svg puck-{escape(kind)}" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="group" '
           f'aria-labelledby="puck-svg-title" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="puck-svg-title">{escape(title)}</title>']
    if kind in ("unipuck", "spine"):
        c = width / 2
        out.append(f'<circle cx="{_n(c)}" cy="{_n(c)}" r="{_n(c - 3)}" class="puck-body"/>')
    elif plate:
        out += [f'<text x="{_n(x)}" y="18" class="puck-axis">{col}</text>'
                for col, (_, x, _) in enumerate(points[:12], start=1)]
        out += [f'<text x="10" y="{_n(y + 4)}" class="puck-axis">{"ABCDEFGH"[row]}</text>'
                for row, (_, _, y) in enumerate(points[::12][:8])]
    for position, x, y in points:
        sample = occupants.get(position)
        name = plate_label(position) if plate else str(position)
        label = f"Position {name}: " + (str(sample) if sample else "empty")
        state = "filled" if sample else "empty"
        classes = f"pos pos-{state}" + (" pos-selected" if position == selected else "")
        link = escape(href.format(position))
        out.append(f'<a href="{link}" class="{classes}" '
                   f'data-position="{position}" data-state="{state}" '
                   f'aria-label="{escape(label)}">')
        out.append(f"<title>{escape(label)}</title>")
        out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r}"/>')
        if plate:
            if sample:
                out.append(f'<text x="{_n(x)}" y="{_n(y + 4)}" class="pos-num">'
                           f'{escape(name)}</text>')
        else:
            dy = -3 if sample else 5
            out.append(f'<text x="{_n(x)}" y="{_n(y + dy)}" class="pos-num">{position}</text>')
            if sample:
                out.append(f'<text x="{_n(x)}" y="{_n(y + 10)}" class="pos-label">'
                           f'{escape(_short(str(sample), 9))}</text>')
        out.append("</a>")
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 (every text above is escaped)


def timeline_svg(events, *, width: int = 640, height: int = 70) -> SafeString:
    """A small timeline of a dewar's transport events (oldest left): a dot per event, titled
    with the status, time and place."""
    events = sorted(events, key=lambda e: (e.at, e.pk))
    if not events:
        return mark_safe("")
    left, right = 16, 16
    t0, t1 = events[0].at.timestamp(), events[-1].at.timestamp()
    span = max(t1 - t0, 1)
    y = 28
    out = [f'<svg class="timeline-svg" viewBox="0 0 {width} {height}" width="100%" '
           f'height="{height}" role="img" aria-labelledby="timeline-title" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="timeline-title">Timeline of {len(events)} transport event'
           f'{"s" if len(events) != 1 else ""}</title>',
           f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" class="tl-axis"/>']
    for i, e in enumerate(events):
        x = left + (e.at.timestamp() - t0) / span * (width - left - right)
        where = f" at {e.location}" if e.location else ""
        text = f"{e.to_status.replace('_', ' ')}{where}, {e.at:%Y-%m-%d %H:%M}"
        out.append(f'<g class="tl-event"><title>{escape(text)}</title>'
                   f'<circle cx="{_n(x)}" cy="{y}" r="6"/></g>')
        if i in (0, len(events) - 1):
            anchor = "start" if i == 0 else "end"
            out.append(f'<text x="{_n(x)}" y="{y + 26}" text-anchor="{anchor}" '
                       f'class="tl-label">{escape(f"{e.at:%d %b %H:%M}")}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308
