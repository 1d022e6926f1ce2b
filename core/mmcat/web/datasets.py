"""Dataset pages: parameters, files, attachments (view and download), processing jobs with live
progress, and the lineage graph drawn as SVG."""

from __future__ import annotations

import mimetypes

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path

from .. import permissions as perms
from ..lineage import graph
from ..models import Dataset, DatasetLink, ProcessingJob
from ..plugins.manager import collect_isolated
from .lineage_svg import draw
from .paging import paginate

JOBS_SHOWN = 20
JOB_POLL_SECONDS = 3
TEXT_PREVIEW_BYTES = 256 * 1024
#: shown inline; never SVG or HTML (they could carry scripts)
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
TEXT_EXTENSIONS = {".txt", ".log", ".lp", ".xml", ".json", ".csv", ".tsv", ".cif", ".pdb",
                   ".html", ".htm", ".md", ".yaml", ".yml", ".ini", ".cfg", ".sh", ".py",
                   ".out", ".err", ".dat", ".def", ".inp"}


def _visible_dataset(request, pk):
    return get_object_or_404(
        perms.visible_datasets(request.user).select_related("session__proposal", "sample"),
        pk=pk,
    )


# --- lineage ---------------------------------------------------------------------------------

def lineage(dataset, user) -> dict:
    """The lineage around ``dataset`` that ``user`` may see, drawn, plus a text version."""
    found = graph(dataset, perms.visible_datasets(user))
    ids = [n["id"] for n in found["nodes"]]
    extra = (
        Dataset.objects.filter(pk__in=ids)
        .values_list("pk", "state", "sample__name", "sample__component")
        if len(ids) > 1 else []
    )
    samples = {pk: f"{component}-{name}" if component else (name or "")
               for pk, _, name, component in extra}
    states = {pk: state for pk, state, _, _ in extra}
    drawing = draw(found, dataset.pk, samples, states)
    names = {n["id"]: n["name"] for n in found["nodes"]}
    links = [
        {"input": e["input"], "input_name": names[e["input"]], "output": e["output"],
         "output_name": names[e["output"]], "role": e["role"], "software": e["software"]}
        for e in found["edges"]
    ]
    return {"drawing": drawing, "links": links, "graph": found}


@login_required
def dataset_lineage(request, pk):
    """The lineage graph alone (an htmx fragment, or a page of its own)."""
    dataset = _visible_dataset(request, pk)
    return render(request, "mmcat/datasets/_lineage.html",
                  {"dataset": dataset, "lineage": lineage(dataset, request.user)})


# --- jobs ------------------------------------------------------------------------------------

def _jobs(dataset, user):
    """Jobs run on the dataset, and the job that made it, newest first."""
    as_input = ProcessingJob.inputs.through.objects.filter(dataset=dataset).values(
        "processingjob")
    as_maker = DatasetLink.objects.filter(output=dataset, job__isnull=False).values("job")
    return (
        perms.visible_jobs(user).filter(Q(pk__in=as_input) | Q(pk__in=as_maker))
        .defer("log", "result", "parameters").select_related("created_by")
        .prefetch_related("attachments").order_by("-created_at", "-id")
    )


def _jobs_context(dataset, user) -> dict:
    jobs = _jobs(dataset, user)
    shown = list(jobs[:JOBS_SHOWN])
    total = len(shown) if len(shown) < JOBS_SHOWN else jobs.count()
    active = any(j.state in (ProcessingJob.State.QUEUED, ProcessingJob.State.RUNNING)
                 for j in shown)
    return {"dataset": dataset, "jobs": shown, "jobs_total": total, "jobs_active": active,
            "job_poll_seconds": JOB_POLL_SECONDS}


@login_required
def dataset_jobs(request, pk):
    """The jobs box alone: polled every few seconds while a job is queued or running (the
    answer drops the polling once none is)."""
    dataset = _visible_dataset(request, pk)
    return render(request, "mmcat/datasets/_jobs.html", _jobs_context(dataset, request.user))


# --- the page --------------------------------------------------------------------------------

@login_required
def dataset_detail(request, pk):
    dataset = _visible_dataset(request, pk)
    user = request.user
    context = {
        "dataset": dataset,
        "parameters": dataset.parameters.select_related("type").order_by("type__key"),
        "files": paginate(request, dataset.files.order_by("path"), "files_page"),
        "attachments": paginate(
            request,
            perms.visible_attachments(user).filter(dataset=dataset).order_by("name", "id"),
            "attachments_page",
        ),
        "lineage": lineage(dataset, user),
        "panels": collect_isolated("mmcat_dataset_panels", dataset=dataset, request=request),
        **_jobs_context(dataset, user),
    }
    return render(request, "mmcat/datasets/detail.html", context)


# --- attachments -----------------------------------------------------------------------------

def _visible_attachment(request, pk):
    return get_object_or_404(
        perms.visible_attachments(request.user).select_related(
            "session__proposal", "dataset", "job"), pk=pk,
    )


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _looks_like_text(name: str, head: bytes) -> bool:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if b"\0" in head:
        return False
    if suffix in TEXT_EXTENSIONS or _content_type(name).startswith("text/"):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is still text
        return exc.start >= len(head) - 3
    return True


@login_required
def attachment_view(request, pk):
    """Text shown inline (the first 256 KiB), raster images inline, anything else: download."""
    attachment = _visible_attachment(request, pk)
    content_type = _content_type(attachment.name)
    context = {"attachment": attachment, "content_type": content_type, "text": None,
               "image": content_type in INLINE_IMAGES, "missing": False, "truncated": False,
               "size": None}
    try:
        context["size"] = attachment.file.size
        if not context["image"]:
            with attachment.file.open("rb") as f:
                head = f.read(TEXT_PREVIEW_BYTES + 1)
            if _looks_like_text(attachment.name, head[:8192]):
                context["truncated"] = len(head) > TEXT_PREVIEW_BYTES
                context["text"] = head[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace")
    except OSError:
        context["missing"] = True
    return render(request, "mmcat/datasets/attachment.html", context)


@login_required
def attachment_download(request, pk):
    """The file, as a download; ``?inline=1`` shows a raster image in the browser."""
    attachment = _visible_attachment(request, pk)
    content_type = _content_type(attachment.name)
    inline = request.GET.get("inline") == "1" and content_type in INLINE_IMAGES
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404("The file of this attachment is missing.") from None
    response = FileResponse(handle, as_attachment=not inline, filename=attachment.name,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("datasets/<int:pk>/", dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/lineage/", dataset_lineage, name="dataset-lineage"),
    path("datasets/<int:pk>/jobs/", dataset_jobs, name="dataset-jobs"),
    path("attachments/<int:pk>/", attachment_view, name="attachment-view"),
    path("attachments/<int:pk>/download/", attachment_download, name="attachment-download"),
]
