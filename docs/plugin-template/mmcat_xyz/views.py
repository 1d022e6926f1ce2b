"""Web views, mounted at /xyz/ (``urls.py``). Each starts from :mod:`mmcat.permissions`, so a
session or dataset the user may not see is a 404."""

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from mmcat import permissions

from .models import Scan


@login_required
def index(request):
    """The page behind the menu item: every XYZ scan the user may see."""
    scans = Scan.objects.filter(
        dataset__in=permissions.visible_datasets(request.user)
    ).select_related("dataset__session__proposal")
    page = Paginator(scans, 50).get_page(request.GET.get("page"))
    return render(request, "xyz/index.html", {"page": page})


@login_required
def session_panel(request, pk):
    """The htmx fragment of the session panel: the XYZ scans of one session."""
    session = get_object_or_404(permissions.visible_sessions(request.user), pk=pk)
    limit = apps.get_app_config("xyz").get_setting("panel_limit")
    scans = Scan.objects.filter(
        dataset__in=permissions.visible_datasets(request.user).filter(session=session)
    ).select_related("dataset")
    context = {"session": session, "scans": scans[:limit], "total": scans.count()}
    return render(request, "xyz/panel.html", context)
