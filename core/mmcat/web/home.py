"""The home page: the user's current, next and recent sessions, and plugin widgets."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from .. import permissions as perms
from ..plugins.manager import collect_isolated


@login_required
def home(request):
    now = timezone.now()
    sessions = perms.visible_sessions(request.user).select_related("proposal", "beamline")
    context = {
        "current": sessions.filter(start__lte=now, end__gte=now).order_by("start")[:10],
        "upcoming": sessions.filter(start__gt=now).order_by("start")[:10],
        "recent": sessions.filter(end__lt=now).order_by("-end")[:10],
        "widgets": collect_isolated("mmcat_dashboard_widgets", request=request),
    }
    return render(request, "mmcat/home.html", context)


urlpatterns = [
    path("", home, name="home"),
]
