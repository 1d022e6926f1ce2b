"""Dataset pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from .. import permissions as perms
from ..lineage import graph
from ..plugins.manager import collect_isolated


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
        "panels": collect_isolated("mmcat_dataset_panels", dataset=dataset, request=request),
    }
    return render(request, "mmcat/dataset_detail.html", context)


urlpatterns = [
    path("datasets/<int:pk>/", dataset_detail, name="dataset-detail"),
]
