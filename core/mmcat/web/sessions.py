"""Session pages: the list, the calendar, a session's page with its datasets (filters, paging,
CSV export) and the live updates of a running session."""

from __future__ import annotations

import calendar as pycalendar
import csv
import zlib
from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Prefetch
from django.db.models.functions import Coalesce
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone

from .. import permissions as perms
from ..models import Beamline, Dataset, ParameterType, ParameterValue, Session
from ..plugins.manager import collect_isolated
from . import parameters
from .dataset_filters import RANGE_KINDS, parse_filters
from .paging import PAGE_SIZE

WHEN = {
    "": "All sessions",
    "current": "Running now",
    "upcoming": "Upcoming",
    "past": "Past",
}
LIVE_SECONDS = 5
#: a dataset without a start time (a processing result, say) goes where it was recorded, the
#: same on every database (PostgreSQL and SQLite put NULLs at opposite ends)
NEWEST_FIRST = (Coalesce("start_time", "created_at").desc(), "-id")
#: at most this many rows are checked by one live update (a page is PAGE_SIZE rows, plus the
#: rows prepended since it was loaded)
LIVE_MAX_ROWS = 500


def _status(session, now) -> str:
    if session.start > now:
        return "upcoming"
    return "current" if session.end >= now else "past"


# --- list ------------------------------------------------------------------------------------

@login_required
def session_list(request):
    now = timezone.now()
    sessions = perms.visible_sessions(request.user).select_related("proposal", "beamline")
    beamline = request.GET.get("beamline", "").strip()[:60]
    when = request.GET.get("when", "")
    when = when if when in WHEN else ""
    if beamline:
        sessions = sessions.filter(beamline__name=beamline)
    if when == "current":
        sessions = sessions.filter(start__lte=now, end__gte=now).order_by("start", "id")
    elif when == "upcoming":
        sessions = sessions.filter(start__gt=now).order_by("start", "id")
    elif when == "past":
        sessions = sessions.filter(end__lt=now).order_by("-start", "-id")
    else:
        sessions = sessions.order_by("-start", "-id")
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    counts = dict(
        Dataset.objects.filter(session__in=[s.pk for s in rows]).values("session")
        .annotate(n=Count("id")).values_list("session", "n")
    ) if rows else {}
    for s in rows:
        s.n_datasets = counts.get(s.pk, 0)
        s.status = _status(s, now)
    context = {
        "page": page,
        "rows": rows,
        "beamline": beamline,
        "when": when,
        "when_choices": WHEN.items(),
        "beamlines": Beamline.objects.values_list("name", flat=True).order_by("name"),
    }
    return render(request, "mmcat/sessions/list.html", context)


# --- calendar --------------------------------------------------------------------------------

def _month(value: str) -> date:
    today = timezone.localdate()
    try:
        year, month = (int(part) for part in value.split("-", 1))
        return date(year, month, 1) if 1900 <= year <= 2999 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


@login_required
def session_calendar(request):
    """A month grid (weeks from Monday). By default the sessions the user takes part in (as a
    proposal member, a local contact or the beamline's staff); ``?beamline=NAME`` shows every
    session of that beamline the user may see."""
    user = request.user
    first = _month(request.GET.get("month", ""))
    beamline = request.GET.get("beamline", "").strip()[:60]
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    tz = timezone.get_current_timezone()
    grid_start = datetime.combine(weeks[0][0], time.min, tzinfo=tz)
    grid_end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time.min, tzinfo=tz)
    if beamline:
        sessions = perms.visible_sessions(user).filter(beamline__name=beamline)
    else:
        sessions = Session.objects.filter(
            pk__in=Session.objects.filter(perms.session_filter(user)).values("pk")
        )
    sessions = list(
        sessions.filter(start__lt=grid_end, end__gt=grid_start)
        .select_related("proposal", "beamline").order_by("start", "id")[:500]
    )
    by_day: dict[date, list] = {}
    for s in sessions:
        day = max(timezone.localtime(s.start, tz).date(), weeks[0][0])
        last = min(timezone.localtime(s.end - timedelta(microseconds=1), tz).date(),
                   weeks[-1][-1])
        while day <= last:
            by_day.setdefault(day, []).append({
                "session": s,
                "starts": day == timezone.localtime(s.start, tz).date(),
                "ends": day == timezone.localtime(s.end, tz).date(),
            })
            day += timedelta(days=1)
    today = timezone.localdate()
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    context = {
        "month": first,
        "previous": previous.strftime("%Y-%m"),
        "next": following.strftime("%Y-%m"),
        "this_month": today.strftime("%Y-%m"),
        "weeks": [
            [{"date": d, "in_month": d.month == first.month, "today": d == today,
              "entries": by_day.get(d, [])} for d in week]
            for week in weeks
        ],
        "weekdays": [pycalendar.day_name[i] for i in range(7)],
        "beamline": beamline,
        "beamlines": Beamline.objects.values_list("name", flat=True).order_by("name"),
        "sessions": sessions,
    }
    return render(request, "mmcat/sessions/calendar.html", context)


# --- one session -----------------------------------------------------------------------------

def _visible_session(request, pk):
    return get_object_or_404(
        perms.visible_sessions(request.user).select_related("proposal__pi", "beamline"), pk=pk
    )


def _range_types() -> dict[str, ParameterType]:
    """The dictionary, by key: the searchable numbers are the choices of a parameter range, the
    others are there to say why they cannot be."""
    return {p.key: p for p in ParameterType.objects.all()}


def _datasets(session, filters):
    return filters.apply(session.datasets.select_related("sample").order_by(*NEWEST_FIRST))


def version(dataset) -> str:
    """A short fingerprint of what a row shows that can change: state and parameters."""
    values = [(p.type.pk, p.number, p.text) for p in dataset.shown_parameters]
    return format(zlib.crc32(repr((dataset.state, dataset.kind, values)).encode()), "x")


def _mark(datasets, ptypes):
    """Attach the rows' parameters (one query) and their fingerprints."""
    parameters.attach(datasets, {p.pk: p for p in ptypes.values()})
    for d in datasets:
        d.version = version(d)
    return datasets


@login_required
def session_detail(request, pk):
    session = _visible_session(request, pk)
    now = timezone.now()
    ptypes = _range_types()
    filters = parse_filters(request.GET, ptypes)
    datasets = _datasets(session, filters)
    page = Paginator(datasets, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _mark(list(page), ptypes)
    live = session.start <= now <= session.end
    context = {
        "session": session,
        "status": _status(session, now),
        "now": now,
        "local_contacts": list(session.local_contacts.all()),
        "members": list(session.members.select_related("person")),
        "page": page,
        "rows": rows,
        # new datasets are those created after the page was drawn, whatever the filters
        "newest": session.datasets.aggregate(newest=Max("pk"))["newest"] or 0,
        "filters": filters,
        "filter_qs": filters.querystring(),
        "range_types": [p for p in ptypes.values()
                        if p.searchable and p.value_kind in RANGE_KINDS],
        "techniques": session.datasets.order_by("technique").values_list(
            "technique", flat=True).distinct(),
        "kinds": Dataset.Kind.choices,
        "states": Dataset.State.choices,
        "live": live,
        "live_seconds": LIVE_SECONDS,
        "panels": collect_isolated("mmcat_session_panels", session=session, request=request),
    }
    return render(request, "mmcat/sessions/detail.html", context)


@login_required
def session_live(request, pk):
    """One request for every live update of the page: the client sends ``row=<id>.<version>``
    for each row on screen and ``newest=<id>``; the answer holds out-of-band swaps of the state
    and parameter cells of the rows that changed, and the new datasets to prepend (on the first
    page only, and only those that pass the page's filters). HTTP 286 stops the polling once
    the session is over."""
    session = _visible_session(request, pk)
    now = timezone.now()
    ptypes = _range_types()
    filters = parse_filters(request.GET, ptypes)
    shown = {}
    for item in request.GET.getlist("row")[:LIVE_MAX_ROWS]:
        pk_text, _, seen = item.partition(".")
        if pk_text.isdigit():
            shown[int(pk_text)] = seen
    try:
        newest = int(request.GET.get("newest", "0"))
    except ValueError:
        newest = 0
    on_screen = _mark(list(
        session.datasets.filter(pk__in=list(shown)).select_related("sample")
    ), ptypes)
    changed = [d for d in on_screen if d.version != shown.get(d.pk)]
    first_page = request.GET.get("page", "1") in ("", "1")
    new = _datasets(session, filters).filter(pk__gt=newest).exclude(pk__in=list(shown))
    new_rows, new_elsewhere = [], 0
    if first_page:
        new_rows = _mark(list(new[:PAGE_SIZE]), ptypes)
    else:
        new_elsewhere = new.count()
    context = {
        "session": session,
        "changed": changed,
        "new_rows": new_rows,
        "new_elsewhere": new_elsewhere,
        "newest": max([newest, *(d.pk for d in new_rows)]),
        "count": _datasets(session, filters).count(),
        "now": now,
        "ended": now > session.end,
        "filter_qs": filters.querystring(),
    }
    response = render(request, "mmcat/sessions/_live.html", context)
    if context["ended"]:
        response.status_code = 286  # htmx: stop polling
    return response


# --- CSV export ------------------------------------------------------------------------------

class _Echo:
    def write(self, value):
        return value


def _csv_value(parameter) -> str:
    value = parameter.value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return " ".join(repr(v) for v in value)
    return "" if value is None else str(value)


@login_required
def session_datasets_csv(request, pk):
    """The filtered datasets of a session as CSV, streamed: fixed columns, then one column per
    parameter key present among them (values in the dictionary's unit)."""
    session = _visible_session(request, pk)
    filters = parse_filters(request.GET, _range_types())
    if filters.invalid:
        messages = [*(m for ms in filters.errors.values() for m in ms),
                    *(m for row in filters.ranges for m in row.errors)]
        return HttpResponse("\n".join(messages) + "\n", status=400,
                            content_type="text/plain; charset=utf-8")
    datasets = filters.apply(session.datasets.order_by(*NEWEST_FIRST))
    keys = list(
        ParameterValue.objects.filter(dataset__in=datasets.values("pk"))
        .values_list("type__key", flat=True).distinct().order_by("type__key")
    )
    fixed = ["id", "name", "technique", "kind", "state", "sample", "start_time", "end_time",
             "location"]
    rows = datasets.select_related("sample").prefetch_related(
        Prefetch("parameters", queryset=ParameterValue.objects.select_related("type"))
    )

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(fixed + keys)
        for d in rows.iterator(chunk_size=500):
            values = {p.type.key: _csv_value(p) for p in d.parameters.all()}
            yield writer.writerow([
                d.pk, d.name, d.technique, d.kind, d.state, str(d.sample or ""),
                d.start_time.isoformat() if d.start_time else "",
                d.end_time.isoformat() if d.end_time else "", d.location,
                *(values.get(key, "") for key in keys),
            ])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{session.reference}-datasets.csv"'
    return response


urlpatterns = [
    path("sessions/", session_list, name="session-list"),
    path("sessions/calendar/", session_calendar, name="session-calendar"),
    path("sessions/<int:pk>/", session_detail, name="session-detail"),
    path("sessions/<int:pk>/live/", session_live, name="session-live"),
    path("sessions/<int:pk>/datasets.csv", session_datasets_csv, name="session-datasets-csv"),
]
