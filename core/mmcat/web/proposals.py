"""Proposal and sample pages."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, render
from django.urls import path

from .. import permissions as perms
from ..models.proposals import PROPOSAL_REF_RE
from ..plugins.manager import collect_isolated
from .paging import PAGE_SIZE


@login_required
def proposal_list(request):
    proposals = perms.visible_proposals(request.user).select_related("pi").annotate(
        n_sessions=Count("sessions", distinct=True)
    ).order_by("-created_at", "code", "number")
    query = request.GET.get("q", "").strip()
    if query:
        reference = PROPOSAL_REF_RE.match(query.lower())
        if reference:
            proposals = proposals.filter(code=reference["code"], number=reference["number"])
        else:
            proposals = proposals.filter(title__icontains=query)
    page = Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "mmcat/proposal_list.html", {"page": page, "q": query})



@login_required
def proposal_detail(request, pk):
    proposal = get_object_or_404(perms.visible_proposals(request.user).select_related("pi"),
                                 pk=pk)
    context = {
        "proposal": proposal,
        "members": proposal.members.select_related("person"),
        "sessions": perms.visible_sessions(request.user).filter(proposal=proposal)
        .select_related("beamline"),
        "samples": proposal.samples.all()[:200],
        "panels": collect_isolated("mmcat_proposal_panels", proposal=proposal, request=request),
    }
    return render(request, "mmcat/proposal_detail.html", context)



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
        "page": Paginator(datasets, PAGE_SIZE).get_page(request.GET.get("page")),
        "panels": collect_isolated("mmcat_sample_panels", sample=sample, request=request),
    }
    return render(request, "mmcat/sample_detail.html", context)


urlpatterns = [
    path("proposals/", proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/", proposal_detail, name="proposal-detail"),
    path("samples/<int:pk>/", sample_detail, name="sample-detail"),
]
