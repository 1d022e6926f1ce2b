"""Staff views: the beamlines' current, upcoming and recent sessions, and the job monitor.

Facility staff (``user.sees_everything``) see every beamline; beamline staff (``Beamline.staff``)
see their own beamlines; for anyone else these pages do not exist (404).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .. import jobs as mmcat_jobs
from .. import permissions as perms
from ..models import Beamline, ProcessingJob
from .proposals import paginate

#: sessions shown per beamline, upcoming and recent
PER_BEAMLINE = 5
#: "recent" sessions ended at most this long ago
RECENT = timedelta(days=14)
#: current sessions shown per page of beamlines (a beamline runs one or two at a time)
MAX_CURRENT = 500


def staff_beamlines(user):
    """The beamlines whose staff views ``user`` may open: all for facility staff, their own for
    beamline staff; 404 for anyone else."""
    if user.sees_everything:
        return Beamline.objects.all()
    beamlines = Beamline.objects.filter(staff=user)
    if not beamlines.exists():
        raise Http404("No staff pages for you.")
    return beamlines


def _chosen_beamline(request, beamlines) -> str:
    """The ``beamline`` GET parameter (a pk) if it is one of ``beamlines`` (a list)."""
    raw = request.GET.get("beamline", "")
    return raw if raw in {str(b.pk) for b in beamlines} else ""


def _per_beamline(sessions, order):
    """At most PER_BEAMLINE sessions per beamline, in one query (a window function)."""
    return sessions.annotate(
        row=Window(RowNumber(), partition_by=[F("beamline_id")], order_by=order)
    ).filter(row__lte=PER_BEAMLINE)


@login_required
def staff_home(request):
    user = request.user
    scope = list(staff_beamlines(user).select_related("facility").order_by("name"))
    chosen = _chosen_beamline(request, scope)
    beamlines = [b for b in scope if str(b.pk) == chosen] if chosen else scope
    page = paginate(request, beamlines)
    shown = {b.pk: b for b in page}
    now = timezone.now()
    sessions = perms.visible_sessions(user).filter(beamline__in=list(shown)).select_related(
        "proposal__pi", "beamline").prefetch_related("local_contacts")
    current = sessions.filter(start__lte=now, end__gte=now).order_by("start", "id")
    upcoming = _per_beamline(sessions.filter(start__gt=now),
                             [F("start").asc(), F("id").asc()]).order_by("start", "id")
    recent = _per_beamline(sessions.filter(end__lt=now, end__gte=now - RECENT),
                           [F("end").desc(), F("id").desc()]).order_by("-end", "-id")
    for b in shown.values():
        b.current, b.upcoming, b.recent = [], [], []
    for attribute, queryset in (("current", current[:MAX_CURRENT]), ("upcoming", upcoming),
                                ("recent", recent)):
        for s in queryset:
            s.status = attribute
            getattr(shown[s.beamline_id], attribute).append(s)
    failed = _scoped_jobs(user, scope).filter(state=ProcessingJob.State.FAILED).count()
    return render(request, "mmcat/staff/home.html", {
        "page": page, "scope": scope, "chosen": chosen, "now": now,
        "per_beamline": PER_BEAMLINE, "recent_days": RECENT.days, "failed_jobs": failed,
    })


# --- jobs ------------------------------------------------------------------------------------


def _scoped_jobs(user, beamlines):
    jobs = perms.visible_jobs(user)
    if not user.sees_everything:
        jobs = jobs.filter(session__beamline__in=[b.pk for b in beamlines])
    return jobs


def _describe(job, now) -> None:
    """Attach ``duration`` (text: so far for a running job, none for a queued one) and
    ``error_line`` (the first line of the error)."""
    running = job.state == ProcessingJob.State.RUNNING
    end = job.finished_at or (now if running else None)
    job.duration = ""
    if job.started_at and end:
        seconds = max(0, int((end - job.started_at).total_seconds()))
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        job.duration = (f"{hours} h {minutes:02d} min" if hours
                        else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s")
    job.error_line = job.error.strip().splitlines()[0][:200] if job.error.strip() else ""


def _jobs_queryset(jobs):
    return jobs.select_related(
        "session__proposal", "session__beamline", "created_by"
    ).defer("log", "result", "parameters").order_by("-created_at", "-id")


@login_required
def job_list(request):
    user = request.user
    scope = list(staff_beamlines(user).order_by("name"))
    chosen = _chosen_beamline(request, scope)
    jobs = _scoped_jobs(user, scope)
    if chosen:
        jobs = jobs.filter(session__beamline_id=int(chosen))
    counts = dict(ProcessingJob.objects.filter(pk__in=jobs.values("pk")).values("state")
                  .annotate(n=Count("id")).values_list("state", "n"))
    state = request.GET.get("state", "")
    state = state if state in ProcessingJob.State.values else ""
    if state:
        jobs = jobs.filter(state=state)
    page = paginate(request, _jobs_queryset(jobs))
    page.object_list = list(page.object_list)
    now = timezone.now()
    for job in page.object_list:
        _describe(job, now)
    states = [("", "All", sum(counts.values()))] + [
        (value, label, counts.get(value, 0)) for value, label in ProcessingJob.State.choices]
    return render(request, "mmcat/staff/jobs.html", {
        "page": page, "scope": scope, "chosen": chosen, "state": state, "states": states,
    })


@login_required
@require_POST
def job_retry(request, pk):
    """Queue a failed job again (the same reset as the API's retry)."""
    user = request.user
    scope = list(staff_beamlines(user))
    job = get_object_or_404(_scoped_jobs(user, scope), pk=pk)
    error = ""
    try:
        mmcat_jobs.retry(job.pk)
    except mmcat_jobs.NotRetryable as exc:
        error = str(exc)
    message = error or f"Job {job.pk} ({job.task}) is queued again."
    if request.headers.get("HX-Request") == "true":
        job = _jobs_queryset(ProcessingJob.objects.filter(pk=job.pk)).get()
        _describe(job, timezone.now())
        job.message, job.message_is_error = message, bool(error)
        return render(request, "mmcat/staff/_job_row.html", {"job": job})
    (messages.error if error else messages.success)(request, message)
    target, jobs_url = request.POST.get("next", ""), reverse("staff-jobs")
    if not (target == jobs_url or target.startswith(jobs_url + "?")) or \
            not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = jobs_url
    return redirect(target)


urlpatterns = [
    path("staff/", staff_home, name="staff-home"),
    path("staff/jobs/", job_list, name="staff-jobs"),
    path("staff/jobs/<int:pk>/retry/", job_retry, name="staff-job-retry"),
]
