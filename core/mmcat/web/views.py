"""Server-rendered pages. Each object page starts from the permission querysets (404 for
outsiders) and loads plugin panels lazily with htmx."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .. import permissions as perms
from ..lineage import graph
from ..models import ParameterValue
from ..models.proposals import PROPOSAL_REF_RE
from ..plugins.manager import collect

PAGE_SIZE = 50


@login_required
def home(request):
    now = timezone.now()
    sessions = perms.visible_sessions(request.user).select_related("proposal", "beamline")
    context = {
        "current": sessions.filter(start__lte=now, end__gte=now).order_by("start")[:10],
        "upcoming": sessions.filter(start__gt=now).order_by("start")[:10],
        "recent": sessions.filter(end__lt=now).order_by("-end")[:10],
        "widgets": collect("mmcat_dashboard_widgets", request=request),
    }
    return render(request, "mmcat/home.html", context)


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
        "panels": collect("mmcat_proposal_panels", proposal=proposal, request=request),
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
        "panels": collect("mmcat_sample_panels", sample=sample, request=request),
    }
    return render(request, "mmcat/sample_detail.html", context)


@login_required
def session_detail(request, pk):
    session = get_object_or_404(
        perms.visible_sessions(request.user).select_related("proposal", "beamline"), pk=pk
    )
    datasets = session.datasets.select_related("sample").prefetch_related(
        Prefetch("parameters", queryset=ParameterValue.objects.select_related("type"))
    ).order_by("-start_time", "-id")
    page = Paginator(datasets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "session": session,
        "page": page,
        "panels": collect("mmcat_session_panels", session=session, request=request),
    }
    return render(request, "mmcat/session_detail.html", context)


@login_required
def dataset_detail(request, pk):
    dataset = get_object_or_404(
        perms.visible_datasets(request.user).select_related("session__proposal", "sample"),
        pk=pk,
    )
    context = {
        "dataset": dataset,
        "parameters": dataset.parameters.select_related("type").order_by("type__key"),
        "files": dataset.files.all(),
        "jobs": dataset.jobs.all()[:50],
        "lineage": graph(dataset, perms.visible_datasets(request.user)),
        "panels": collect("mmcat_dataset_panels", dataset=dataset, request=request),
    }
    return render(request, "mmcat/dataset_detail.html", context)
