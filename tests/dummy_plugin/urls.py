from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from mmcat import permissions


@login_required
def index(request):
    return HttpResponse("dummy index")


@login_required
def widget(request):
    return HttpResponse("<p>dummy widget body</p>")


@login_required
def session_panel(request, pk):
    session = get_object_or_404(permissions.visible_sessions(request.user), pk=pk)
    return HttpResponse(f"<p>{session.datasets.count()} datasets (dummy panel)</p>")


@login_required
def proposal_panel(request, pk):
    proposal = get_object_or_404(permissions.visible_proposals(request.user), pk=pk)
    return HttpResponse(f"<p>{proposal.reference} (dummy panel)</p>")


@login_required
def dataset_panel(request, pk):
    dataset = get_object_or_404(permissions.visible_datasets(request.user), pk=pk)
    return HttpResponse(f"<p>{dataset.name} (dummy panel)</p>")


@login_required
def sample_panel(request, pk):
    sample = get_object_or_404(permissions.visible_samples(request.user), pk=pk)
    return HttpResponse(f"<p>{sample.name} (dummy panel)</p>")


urlpatterns = [
    path("", index, name="index"),
    path("widget/", widget, name="widget"),
    path("sessions/<int:pk>/panel/", session_panel, name="session-panel"),
    path("proposals/<int:pk>/panel/", proposal_panel, name="proposal-panel"),
    path("datasets/<int:pk>/panel/", dataset_panel, name="dataset-panel"),
    path("samples/<int:pk>/panel/", sample_panel, name="sample-panel"),
]
