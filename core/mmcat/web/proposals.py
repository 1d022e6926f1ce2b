"""Proposal and sample pages, and the management of a proposal's members.

The PI (``proposal.pi``, or a member with the role "pi") and facility staff add, re-role and
remove members with htmx; the forms also work without JavaScript (post, then redirect). Anyone
else who may see the proposal sees the members read-only, and a POST from them is a 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import permissions as perms
from ..models import Person, Proposal, ProposalMember
from ..models.proposals import PROPOSAL_REF_RE
from ..plugins.manager import collect_isolated
from .paging import paginate

Role = ProposalMember.Role
#: roles a manager may give in the web UI; the PI role comes from the user office
ASSIGNABLE_ROLES = [(Role.MEMBER.value, Role.MEMBER.label), (Role.COI.value, Role.COI.label)]
ROLE_ORDER = {Role.PI: 0, Role.COI: 1, Role.MEMBER: 2}
STATES = [("", "Any state"), *Proposal.State.choices]
RECENT_DATASETS = 10


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- list ------------------------------------------------------------------------------------


@login_required
def proposal_list(request):
    mine = ProposalMember.objects.filter(proposal=OuterRef("pk"), person=request.user)
    proposals = perms.visible_proposals(request.user).select_related("pi").annotate(
        n_sessions=Count("sessions", distinct=True),
        my_role=Subquery(mine.values("role")[:1]),
    ).order_by("-created_at", "code", "number")
    query = request.GET.get("q", "").strip()[:300]
    if query:
        reference = PROPOSAL_REF_RE.match(query.lower())
        if reference:
            proposals = proposals.filter(code=reference["code"], number=reference["number"])
        else:
            proposals = proposals.filter(title__icontains=query)
    state = request.GET.get("state", "")
    state = state if state in Proposal.State.values else ""
    if state:
        proposals = proposals.filter(state=state)
    page = paginate(request, proposals)
    roles = dict(Role.choices)
    for proposal in page:
        proposal.my_role_label = roles.get(proposal.my_role, "")
    return render(request, "mmcat/proposals/proposal_list.html", {
        "page": page, "q": query, "state": state, "states": STATES,
    })


# --- detail ----------------------------------------------------------------------------------


def _members(proposal) -> list[ProposalMember]:
    members = list(proposal.members.select_related("person"))
    members.sort(key=lambda m: (ROLE_ORDER.get(m.role, 9), str(m.person).lower()))
    return members


def _can_manage(user, proposal, members) -> bool:
    """The PI (``proposal.pi`` or a member with the role "pi") and facility staff."""
    if user.sees_everything or proposal.pi_id == user.pk:
        return True
    return any(m.person_id == user.pk and m.role == Role.PI for m in members)


def _members_context(request, proposal, *, add_form=None, row_errors=None, status="",
                     focus="", failed=False):
    """``focus``: the id of the element to focus after an htmx swap (autofocus)."""
    members = _members(proposal)
    manage = _can_manage(request.user, proposal, members)
    for m in members:
        m.protected = m.person_id == proposal.pi_id
        m.error = (row_errors or {}).get(m.pk, "")
        m.focus_role, m.focus_remove = (focus == f"member-{m.pk}-role",
                                        focus == f"member-{m.pk}-remove")
    return {
        "proposal": proposal,
        "members": members,
        "pi_missing": not any(m.person_id == proposal.pi_id for m in members),
        "manage": manage,
        "add_form": add_form or AddMemberForm(proposal=proposal),
        "roles": ASSIGNABLE_ROLES,
        "members_status": status,
        "members_failed": failed,
        "focus": focus,
    }


def _detail_context(request, proposal, **members_kwargs):
    user = request.user
    now = timezone.now()
    sessions = perms.visible_sessions(user).filter(proposal=proposal).select_related(
        "proposal", "beamline").prefetch_related("local_contacts").order_by("-start", "-id")
    samples = perms.visible_samples(user).filter(proposal=proposal).select_related(
        "parent").order_by("component", "name", "id")
    datasets = perms.visible_datasets(user).filter(session__proposal=proposal).select_related(
        "session__proposal", "sample").order_by("-start_time", "-id")
    session_page = paginate(request, sessions, "sessions")
    for s in session_page:
        s.status = "upcoming" if s.start > now else ("current" if s.end >= now else "past")
    return {
        **_members_context(request, proposal, **members_kwargs),
        "session_page": session_page,
        "sample_page": paginate(request, samples, "samples"),
        "datasets": datasets[:RECENT_DATASETS],
        "panels": collect_isolated("mmcat_proposal_panels", proposal=proposal, request=request),
    }


def _visible_proposal(request, pk) -> Proposal:
    return get_object_or_404(perms.visible_proposals(request.user).select_related("pi"), pk=pk)


@login_required
def proposal_detail(request, pk):
    proposal = _visible_proposal(request, pk)
    return render(request, "mmcat/proposals/proposal_detail.html",
                  _detail_context(request, proposal))


# --- members ---------------------------------------------------------------------------------


class AddMemberForm(forms.Form):
    person = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=ASSIGNABLE_ROLES, initial=Role.MEMBER)

    def __init__(self, *args, proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.proposal = proposal

    def clean_person(self):
        raw = self.cleaned_data["person"].strip()
        people = Person.objects.filter(is_active=True)
        person = (people.filter(username=raw).first()
                  or people.filter(username__iexact=raw).first())
        if person is None:
            by_email = list(people.filter(email__iexact=raw)[:2]) if raw else []
            if len(by_email) > 1:
                raise forms.ValidationError(
                    "Several people have this email address; give the username instead.")
            person = by_email[0] if by_email else None
        if person is None:
            raise forms.ValidationError(f"No one has the username or email '{raw}'.")
        if person.is_service:
            raise forms.ValidationError(
                f"{person.username} is a service account and cannot be a member.")
        current = self.proposal.members.filter(person=person).first()
        if current is not None:
            raise forms.ValidationError(
                f"{person} is already a member ({current.get_role_display()}).")
        return person


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=ASSIGNABLE_ROLES)


def _managed_proposal(request, pk) -> Proposal:
    """The proposal, for a manager; a 404 for anyone else (as if there were nothing here)."""
    proposal = _visible_proposal(request, pk)
    if not (request.user.sees_everything or proposal.pi_id == request.user.pk
            or proposal.members.filter(person=request.user, role=Role.PI).exists()):
        raise Http404("No proposal matches the given query.")
    return proposal


def _respond(request, proposal, *, ok: bool, status: str = "", **members_kwargs):
    """After a change: the members fragment for htmx; otherwise redirect (or, on an error, the
    whole page with the error in place)."""
    if ok and not perms.visible_proposals(request.user).filter(pk=proposal.pk).exists():
        # a PI who removed themselves: nothing left to show here
        messages.success(request, status)
        if _is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("proposal-list")
            return response
        return redirect("proposal-list")
    if _is_htmx(request):
        context = _members_context(request, proposal, status=status, failed=not ok,
                                   **members_kwargs)
        return render(request, "mmcat/proposals/_members.html", context)
    if ok:
        messages.success(request, status)
        return redirect(reverse("proposal-detail", args=[proposal.pk]) + "#members")
    context = _detail_context(request, proposal, status=status, failed=True, **members_kwargs)
    return render(request, "mmcat/proposals/proposal_detail.html", context, status=400)


def _last_pi_error(proposal, member, action: str) -> str:
    """Why ``member`` must stay a PI (``action``: what cannot be done), or ''."""
    if member.person_id == proposal.pi_id:
        return f"{member.person} is the proposal's PI and {action}."
    if member.role == Role.PI and not proposal.members.filter(role=Role.PI).exclude(
            pk=member.pk).exists():
        return f"{member.person} is the last PI of this proposal and {action}."
    return ""


@login_required
@require_POST
def member_add(request, pk):
    proposal = _managed_proposal(request, pk)
    form = AddMemberForm(request.POST, proposal=proposal)
    if form.is_valid():
        person = form.cleaned_data["person"]
        try:
            with transaction.atomic():
                ProposalMember.objects.create(proposal=proposal, person=person,
                                              role=form.cleaned_data["role"])
        except IntegrityError:  # added by someone else a moment ago
            form.add_error("person", f"{person} is already a member.")
        else:
            role = dict(Role.choices)[form.cleaned_data["role"]]
            return _respond(request, proposal, ok=True, status=f"Added {person} as {role}.",
                            focus="member-add-person")
    first = "role" if "person" not in form.errors else "person"
    return _respond(request, proposal, ok=False, add_form=form, focus=f"member-add-{first}",
                    status="The member was not added: see the form.")


@login_required
@require_POST
def member_role(request, pk, member_pk):
    proposal = _managed_proposal(request, pk)
    form = RoleForm(request.POST)
    with transaction.atomic():
        Proposal.objects.select_for_update().filter(pk=proposal.pk).first()  # serialise changes
        member = get_object_or_404(proposal.members.select_related("person"), pk=member_pk)
        if not form.is_valid():
            error = f"Role: choose {' or '.join(label for _, label in ASSIGNABLE_ROLES)}."
        elif form.cleaned_data["role"] != member.role:
            error = _last_pi_error(proposal, member, "keeps the PI role")
            error = f"Role: {error}" if error else ""
        else:
            error = ""
        if error:
            return _respond(request, proposal, ok=False, row_errors={member.pk: error},
                            status=f"The role of {member.person} was not changed.",
                            focus=f"member-{member.pk}-role")
        member.role = form.cleaned_data["role"]
        member.save(update_fields=["role"])
    return _respond(request, proposal, ok=True, focus=f"member-{member.pk}-role",
                    status=f"{member.person} is now {member.get_role_display()}.")


@login_required
@require_POST
def member_remove(request, pk, member_pk):
    proposal = _managed_proposal(request, pk)
    with transaction.atomic():
        Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
        member = get_object_or_404(proposal.members.select_related("person"), pk=member_pk)
        error = _last_pi_error(proposal, member, "cannot be removed")
        if error:
            return _respond(request, proposal, ok=False, row_errors={member.pk: error},
                            status=f"{member.person} was not removed.",
                            focus=f"member-{member.pk}-remove")
        member.delete()
    return _respond(request, proposal, ok=True, status=f"Removed {member.person}.",
                    focus="members-h")


# --- samples ---------------------------------------------------------------------------------


@login_required
def sample_detail(request, pk):
    sample = get_object_or_404(
        perms.visible_samples(request.user).select_related("proposal", "parent"), pk=pk
    )
    datasets = perms.visible_datasets(request.user).filter(sample=sample).select_related(
        "session__proposal").order_by("-start_time", "-id")
    context = {
        "sample": sample,
        "children": sample.children.all(),
        "page": paginate(request, datasets),
        "panels": collect_isolated("mmcat_sample_panels", sample=sample, request=request),
    }
    return render(request, "mmcat/proposals/sample_detail.html", context)


urlpatterns = [
    path("proposals/", proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/", proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/members/", member_add, name="proposal-member-add"),
    path("proposals/<int:pk>/members/<int:member_pk>/role/", member_role,
         name="proposal-member-role"),
    path("proposals/<int:pk>/members/<int:member_pk>/remove/", member_remove,
         name="proposal-member-remove"),
    path("samples/<int:pk>/", sample_detail, name="sample-detail"),
]
