"""Session pages."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import path

from .. import permissions as perms
from ..models import ParameterValue
from ..plugins.manager import collect_isolated
from .paging import PAGE_SIZE


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
        "panels": collect_isolated("mmcat_session_panels", session=session, request=request),
    }
    return render(request, "mmcat/session_detail.html", context)


urlpatterns = [
    path("sessions/<int:pk>/", session_detail, name="session-detail"),
]
