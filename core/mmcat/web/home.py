"""The home page: the user's current, next and recent sessions, the latest datasets of their
proposals, and the plugins' widgets (each loaded lazily by htmx)."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from .. import permissions as perms
from ..models import Beamline, ProposalMember, Session
from ..plugins.manager import collect_isolated

#: rows in each table of the home page (the full lists are on the sessions and search pages)
ROWS = 8
RECENT_DAYS = 30


def my_sessions(user):
    """The sessions ``user`` takes part in: as a member of the proposal, a local contact or the
    beamline's staff. Facility staff see everything elsewhere; here they see their own."""
    sessions = perms.visible_sessions(user)
    if user.sees_everything:
        sessions = sessions.filter(
            pk__in=Session.objects.filter(perms.session_filter(user)).values("pk"))
    return sessions


@login_required
def home(request):
    user = request.user
    now = timezone.now()
    sessions = my_sessions(user).select_related("proposal", "beamline").prefetch_related(
        "local_contacts")
    current = list(sessions.filter(start__lte=now, end__gte=now).order_by("start", "id")[:ROWS])
    for s in current:
        s.status = "current"
    mine = ProposalMember.objects.filter(person=user).values("proposal")
    datasets = perms.visible_datasets(user).filter(
        Q(session__proposal__in=mine) | Q(session__proposal__pi=user)
    ).select_related("session__proposal", "sample").order_by(
        F("start_time").desc(nulls_last=True), "-id")
    context = {
        "current": current,
        "upcoming": sessions.filter(start__gt=now).order_by("start", "id")[:ROWS],
        "recent": sessions.filter(end__lt=now, end__gte=now - timedelta(days=RECENT_DAYS))
        .order_by("-end", "-id")[:ROWS],
        "datasets": datasets[:ROWS],
        "staff": user.sees_everything or Beamline.objects.filter(staff=user).exists(),
        "widgets": collect_isolated("mmcat_dashboard_widgets", request=request),
    }
    return render(request, "mmcat/home.html", context)


urlpatterns = [
    path("", home, name="home"),
]
