"""Sample-sheet import pages: upload a sheet, preview it with every error on its cell, apply the
suggested fixes, import; and the puck editor's paste box.

The uploaded rows wait between preview and import in the user's session (no temporary files),
under ``shipping-import-<shipment pk>``. Only members of the shipment's proposal and staff reach
these pages; anyone else gets a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from mmcat import permissions as perms

from . import sheets
from .models import Container, SamplePosition, Shipment

MAX_UPLOAD = 5 * 1024 * 1024
MAX_PASTE = 200_000


def _session_key(shipment) -> str:
    return f"shipping-import-{shipment.pk}"


def _member_shipment(request, pk) -> Shipment:
    return get_object_or_404(
        Shipment.objects.filter(proposal__in=perms.member_proposals(request.user))
        .select_related("proposal"), pk=pk)


def _member_container(request, pk) -> Container:
    return get_object_or_404(
        Container.objects.filter(
            dewar__shipment__proposal__in=perms.member_proposals(request.user))
        .select_related("dewar__shipment__proposal"), pk=pk)


def shipment_url(shipment) -> str:
    try:
        return reverse("shipping:shipment-detail", args=[shipment.pk])
    except NoReverseMatch:  # pragma: no cover - the shipment page is another module's
        return reverse("proposal-detail", args=[shipment.proposal_id])


def _preview(report: sheets.Report) -> tuple[list[tuple[str, str]], list[dict]]:
    """The preview table: the columns present in the sheet, and per row its cells with the
    errors that name them."""
    fields = [f for f in sheets.FIELDS if any(f in r.labels for r in report.rows)
              and (f in sheets.REQUIRED or any(r.get(f) for r in report.rows))]
    columns = [(f, next(r.labels[f] for r in report.rows if f in r.labels)) for f in fields]
    by_cell = report.cell_errors()
    table = []
    for row in report.rows:
        if row.blank:
            continue
        cells = []
        for f, _ in columns:
            line = row.where(f)[0]
            cells.append({"field": f, "value": row.get(f), "errors": by_cell.get((line, f), [])})
        table.append({"line": row.line, "cells": cells,
                      "unchanged": row.line in report.unchanged,
                      "errors": by_cell.get((row.line, ""), [])})
    return columns, table


def _render(request, shipment, *, stored=None, report=None, fixes=None, applied=None,
            read_errors=None, status=200):
    profiles = sheets.profiles()
    context = {
        "shipment": shipment,
        "profiles": profiles.values(),
        "chosen": (stored or {}).get("profile") or request.POST.get("profile")
        or sheets.DEFAULT_PROFILE,
        "create_proteins": bool((stored or {}).get("create_proteins")),
        "filename": (stored or {}).get("filename", ""),
        "read_errors": read_errors or [],
        "report": report,
        "fixes": fixes or [],
        "applied": applied or [],
        "shipment_url": shipment_url(shipment),
    }
    if report is not None:
        context["columns"], context["table"] = _preview(report)
        context["sheet_errors"] = [e for e in report.errors
                                   if e.row is None or not e.column]
    return render(request, "shipping/import.html", context, status=status)


def _check(shipment, stored):
    rows = [sheets.Row.from_dict(r) for r in stored["rows"]]
    profile = sheets.profiles().get(stored["profile"]) or sheets.PROFILES[sheets.DEFAULT_PROFILE]
    report = sheets.validate(rows, shipment, create_proteins=stored["create_proteins"],
                             default_container_type=profile.default_container_type)
    return rows, profile, report


@login_required
def shipment_import(request, pk):
    shipment = _member_shipment(request, pk)
    key = _session_key(shipment)
    if request.method == "GET":
        stored = request.session.get(key)
        if stored and request.GET.get("preview"):
            _, _, report = _check(shipment, stored)
            return _render(request, shipment, stored=stored, report=report,
                           fixes=sheets.suggest_fixes(report))
        return _render(request, shipment)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])

    action = request.POST.get("action", "upload")
    if action == "cancel":
        request.session.pop(key, None)
        return redirect(reverse("shipping:shipment-import", args=[shipment.pk]))
    if action == "upload":
        return _upload(request, shipment, key)

    stored = request.session.get(key)
    if not stored:
        messages.warning(request, "Upload the sheet again: the previewed sheet has expired.")
        return redirect(reverse("shipping:shipment-import", args=[shipment.pk]))
    if "create_proteins" in request.POST or action == "check":
        stored["create_proteins"] = request.POST.get("create_proteins") == "on"
    rows, profile, report = _check(shipment, stored)
    applied = []
    if action == "fix":
        applied = sheets.suggest_fixes(report)
        rows = sheets.apply_fixes(rows, applied)
        stored["rows"] = [r.to_dict() for r in rows]
        rows, profile, report = _check(shipment, stored)
    request.session[key] = stored
    if action == "import":
        try:
            result = sheets.import_sheet(shipment, rows, by=request.user,
                                         create_proteins=stored["create_proteins"],
                                         default_container_type=profile.default_container_type)
        except sheets.SheetInvalid as exc:
            return _render(request, shipment, stored=stored, report=exc.report,
                           fixes=sheets.suggest_fixes(exc.report), status=422)
        request.session.pop(key, None)
        messages.success(request, f"Sample sheet {stored.get('filename') or ''} imported: "
                                  f"{result}.")
        return redirect(shipment_url(shipment))
    return _render(request, shipment, stored=stored, report=report,
                   fixes=sheets.suggest_fixes(report), applied=applied)


def _upload(request, shipment, key):
    upload = request.FILES.get("sheet")
    name = request.POST.get("profile") or sheets.DEFAULT_PROFILE
    profile = sheets.profiles().get(name)
    create = request.POST.get("create_proteins") == "on"
    problems = []
    if profile is None:
        problems.append(f"Unknown column profile '{name}'.")
    if upload is None:
        problems.append("Choose a sample sheet to upload.")
    elif upload.size > MAX_UPLOAD:
        problems.append(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB.")
    if problems:
        return _render(request, shipment, read_errors=problems, status=422)
    try:
        rows = sheets.read_sheet(upload.read(), profile)
    except sheets.SheetError as exc:
        return _render(request, shipment, stored={"profile": name, "create_proteins": create,
                                                  "filename": upload.name},
                       read_errors=[str(e) for e in exc.errors], status=422)
    stored = {"profile": profile.name, "create_proteins": create, "filename": upload.name,
              "rows": [r.to_dict() for r in rows]}
    request.session[key] = stored
    _, _, report = _check(shipment, stored)
    return _render(request, shipment, stored=stored, report=report,
                   fixes=sheets.suggest_fixes(report))


@login_required
@require_POST
def container_paste(request, pk):
    """The puck editor's paste box (an htmx fragment): rows pasted from a spreadsheet, tab
    separated (position, protein, sample name, pin barcode, space group, comments), imported
    into this container when they are all valid; ``fix=1`` applies the suggested fixes first."""
    container = _member_container(request, pk)
    shipment = container.dewar.shipment
    text = request.POST.get("text", "")
    create = request.POST.get("create_proteins") == "on"
    context = {"container": container, "text": text, "create_proteins": create,
               "errors": [], "fixes": [], "applied": [], "result": None}
    if len(text) > MAX_PASTE:
        context["errors"] = [f"The pasted text is longer than {MAX_PASTE} characters."]
        return render(request, "shipping/import_paste.html", context, status=200)
    rows = sheets.parse_pasted(text, container)
    if request.POST.get("fix"):
        report = sheets.validate(rows, shipment, create_proteins=create,
                                 default_container_type=container.type)
        context["applied"] = sheets.suggest_fixes(report)
        rows = sheets.apply_fixes(rows, context["applied"])
        context["text"] = "\n".join("\t".join(r.get(f) for f, _ in sheets.PASTE_COLUMNS)
                                    .rstrip("\t") for r in rows)
    try:
        context["result"] = sheets.import_sheet(shipment, rows, by=request.user,
                                                create_proteins=create,
                                                default_container_type=container.type)
    except sheets.SheetInvalid as exc:
        context["errors"] = [str(e) for e in exc.report.errors]
        context["fixes"] = sheets.suggest_fixes(exc.report)
    else:
        context["text"] = ""
    context["positions"] = (SamplePosition.objects.filter(container=container)
                            .select_related("sample").order_by("position"))
    if context["result"] is not None and request.headers.get("HX-Request") != "true":
        messages.success(request, f"Pasted rows imported: {context['result']}.")
        return redirect(shipment_url(shipment))
    return render(request, "shipping/import_paste.html", context)


TEMPLATES = {"shipment-template.csv": "text/csv",
             "ispyb-template6.1_shipment.xls": "application/vnd.ms-excel"}


@login_required
def sheet_template(request, name):
    """ISPyB's blank sample-sheet templates (realdata/, LGPL-3, see SOURCES.md)."""
    if name not in TEMPLATES:
        raise Http404("No such template.")
    return FileResponse(open(sheets.REALDATA / name, "rb"), as_attachment=True,
                        filename=name, content_type=TEMPLATES[name])


urlpatterns = [
    path("shipments/<int:pk>/import/", shipment_import, name="shipment-import"),
    path("sheet-templates/<str:name>", sheet_template, name="sheet-template"),
    path("containers/<int:pk>/paste/", container_paste, name="container-paste"),
]
