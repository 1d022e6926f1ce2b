"""The crystallographer's screens: the MX panels on the core's session and dataset pages, the
session summary with ranking and CSV export, the merge form, and the Table 1 / mmCIF downloads.

Every view starts from :mod:`mmcat.permissions` (an object outside them is a 404) and reads what
it shows in a fixed number of queries, however many collections, images or runs there are.
Plots are drawn here as server-side SVG (no JavaScript chart library).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from mmcat import jobs
from mmcat import permissions as perms
from mmcat.models import (
    Attachment,
    Dataset,
    DatasetLink,
    ParameterType,
    ProcessingJob,
)
from mmcat.web import parameters
from mmcat.web.paging import paginate

from .models import (
    DataCollection,
    GridInfo,
    ImageQuality,
    ProcessingRun,
)

CARDS_PER_PAGE = 20
SUMMARY_PER_PAGE = 100
LIVE_SECONDS = 10
#: the acquisition parameters a collection card shows, in this order
CARD_PARAMETERS = ["experiment_type", "wavelength", "exposure_time", "oscillation_start",
                   "oscillation_range", "number_of_images", "transmission",
                   "detector_distance", "resolution", "beam_size_x", "beam_size_y", "flux"]
THUMB_SUFFIX = "_thumb.png"
MERGE_TASK = "mx.merge"


# --- access ----------------------------------------------------------------------------------

def _visible_session(request, pk):
    return get_object_or_404(
        perms.visible_sessions(request.user).select_related("proposal", "beamline"), pk=pk)


def _visible_dataset(request, pk):
    return get_object_or_404(
        perms.visible_datasets(request.user).select_related(
            "session__proposal", "sample", "mx_collection__group", "mx_collection__grid",
            "mx_processing"),
        pk=pk)


def _one(obj, name):
    """A reverse one-to-one (``dataset.mx_collection``) or None."""
    return getattr(obj, name, None)


def _running(session, now=None) -> bool:
    now = now or timezone.now()
    return session.start <= now <= session.end


def _exports() -> dict:
    """The deposition helpers written beside this module, if they are there yet."""
    found = {}
    try:
        from .mmcif import deposition_cif
        found["mmcif"] = deposition_cif
    except ImportError:
        pass
    try:
        from .table1 import table1_csv, table1_latex
        found["table1_csv"], found["table1_latex"] = table1_csv, table1_latex
    except ImportError:
        pass
    return found


# --- numbers and symmetry --------------------------------------------------------------------

@cache
def symmetry_order(space_group: str) -> int:
    """Number of rotations of the space group's point group (0 if unknown): higher wins ties."""
    if not space_group:
        return 0
    try:
        import gemmi
        return len(gemmi.SpaceGroup(space_group).operations().sym_ops)
    except (ImportError, ValueError, RuntimeError):
        return 0


@cache
def canonical_space_group(text: str) -> str:
    """``"p212121"`` and ``"P 21 21 21"`` both give ``"P 21 21 21"``; unknown text stays."""
    try:
        import gemmi
        return gemmi.SpaceGroup(text.strip()).hm
    except (ImportError, ValueError, RuntimeError):
        return re.sub(r"\s+", "", text).upper()


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


# --- server-side SVG -------------------------------------------------------------------------

SPOTS_COLOUR, BRAGG_COLOUR, RES_COLOUR = "#c98a00", "#2563eb", "#c2185b"


@dataclass
class ImageSeries:
    """Per-image quality of one collection, as plain tuples (image, spots, bragg, resolution)."""

    rows: list[tuple] = field(default_factory=list)

    def __bool__(self):
        return bool(self.rows)


def _bins(rows: list[tuple], most: int) -> list[tuple]:
    """At most ``most`` points: consecutive images pooled, keeping the most spots and Bragg
    candidates and the best (lowest) resolution of each pool, as SynchWeb's plot does."""
    if len(rows) <= most:
        return [(r[0], r[0], r[1], r[2], r[3]) for r in rows]
    size = math.ceil(len(rows) / most)
    pooled = []
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        spots = [r[1] for r in chunk if r[1] is not None]
        bragg = [r[2] for r in chunk if r[2] is not None]
        res = [r[3] for r in chunk if r[3] is not None]
        pooled.append((chunk[0][0], chunk[-1][0], max(spots) if spots else None,
                       max(bragg) if bragg else None, min(res) if res else None))
    return pooled


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def image_plot(series: ImageSeries, uid: str, *, width: int = 300, height: int = 140,
               most: int = 120) -> SafeString:
    """Spots (and Bragg candidates) against image number on the left axis, the estimated
    resolution on an inverted right axis (better resolution higher). Each pool of images is a
    hover target titled with its values."""
    points = _bins(series.rows, most)
    left, right, top, bottom = 38, 40, 8, 22
    w, h = width - left - right, height - top - bottom
    first, last = points[0][0], points[-1][1]
    span = max(last - first, 1)
    top_spots = max([p[2] or 0 for p in points] + [p[3] or 0 for p in points] + [1])
    resolutions = [p[4] for p in points if p[4] is not None]
    r_lo, r_hi = (min(resolutions), max(resolutions)) if resolutions else (0, 1)
    if r_hi - r_lo < 0.1:
        r_lo, r_hi = r_lo - 0.05, r_hi + 0.05

    def x(image):
        return left + (image - first) / span * w

    def y_spots(v):
        return top + h - v / top_spots * h

    def y_res(v):  # small (better) resolution at the top
        return top + (v - r_lo) / (r_hi - r_lo) * h

    best = min((p for p in points if p[4] is not None), key=lambda p: p[4], default=None)
    most_spots = max((p for p in points if p[2] is not None), key=lambda p: p[2], default=None)
    summary = f"{len(series.rows)} images"
    if most_spots:
        summary += f"; most spots {most_spots[2]} (image {most_spots[0]})"
    if best:
        summary += f"; best resolution {best[4]:.2f} Å (image {best[0]})"
    out = [f'<svg class="mx-plot" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="{uid}-t {uid}-d" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{uid}-t">Per-image analysis</title><desc id="{uid}-d">{summary}</desc>',
           f'<rect class="mx-plot-area" x="{left}" y="{top}" width="{w}" height="{h}"/>']
    # axes labels: spots (left), resolution (right), images (bottom)
    out.append(f'<text class="mx-axis" x="{left - 4}" y="{top + 8}" text-anchor="end" '
               f'fill="{SPOTS_COLOUR}">{top_spots}</text>'
               f'<text class="mx-axis" x="{left - 4}" y="{top + h}" text-anchor="end">0</text>'
               f'<text class="mx-axis" x="{left + w + 4}" y="{top + 8}" '
               f'fill="{RES_COLOUR}">{r_lo:.1f} Å</text>'
               f'<text class="mx-axis" x="{left + w + 4}" y="{top + h}" '
               f'fill="{RES_COLOUR}">{r_hi:.1f} Å</text>'
               f'<text class="mx-axis" x="{left}" y="{height - 6}">{first}</text>'
               f'<text class="mx-axis" x="{left + w}" y="{height - 6}" '
               f'text-anchor="end">{last}</text>'
               f'<text class="mx-axis" x="{left + w / 2}" y="{height - 6}" '
               f'text-anchor="middle">image</text>')

    def line(index, y, colour, name):
        coords = " ".join(f"{_n(x((p[0] + p[1]) / 2))},{_n(y(p[index]))}"
                          for p in points if p[index] is not None)
        if coords:
            out.append(f'<polyline class="mx-series mx-{name}" points="{coords}" '
                       f'stroke="{colour}"><title>{name}</title></polyline>')

    line(3, y_spots, BRAGG_COLOUR, "bragg")
    line(2, y_spots, SPOTS_COLOUR, "spots")
    for p in points:
        if p[4] is not None:
            out.append(f'<circle class="mx-res" cx="{_n(x((p[0] + p[1]) / 2))}" '
                       f'cy="{_n(y_res(p[4]))}" r="1.6" fill="{RES_COLOUR}"/>')
    # hover targets, one per pool
    step = w / len(points)
    for i, p in enumerate(points):
        images = f"Image {p[0]}" if p[0] == p[1] else f"Images {p[0]}–{p[1]}"
        parts = [images]
        if p[2] is not None:
            parts.append(f"spots {p[2]}")
        if p[3] is not None:
            parts.append(f"Bragg {p[3]}")
        if p[4] is not None:
            parts.append(f"resolution {p[4]:.2f} Å")
        out.append(f'<rect class="mx-hover" x="{_n(left + i * step)}" y="{top}" '
                   f'width="{_n(step)}" height="{h}"><title>{escape(", ".join(parts))}</title>'
                   f'</rect>')
    out.append("</svg>")
    return mark_safe("".join(out))  # numbers and escaped text only


#: viridis, five stops
RAMP = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def ramp(t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(RAMP[i], RAMP[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def grid_cell(grid: GridInfo, index: int) -> tuple[int, int]:
    """(column, row) of the ``index``-th image (0-based) of a grid scan. The MX tables'
    convention (models.ImageQuality): image N is cell N, row by row, so a snaked scan's images
    are already in cell order (``snaked`` only says how the motors moved)."""
    row, col = divmod(index, grid.steps_x)
    return col, row


def heat_map(collection: DataCollection, grid: GridInfo, quality: dict[int, tuple],
             cell_url) -> SafeString:
    """The grid scan as coloured cells (colour by spots); each cell links to its image."""
    cols, rows = grid.steps_x, grid.steps_y
    size = max(8, min(40, 640 // max(cols, 1), 400 // max(rows, 1)))
    pad_l, pad_t, legend = 4, 4, 34
    width, height = pad_l * 2 + cols * size, pad_t * 2 + rows * size + legend
    spots = [q[0] for q in quality.values() if q[0] is not None]
    top = max(spots, default=0) or 1
    uid = f"mx-grid-{collection.pk}"
    hit = max(quality.items(), key=lambda kv: kv[1][0] or -1, default=None)
    desc = f"{cols} × {rows} cells of {_fmt(grid.dx, 1)} × {_fmt(grid.dy, 1)} µm"
    if hit and hit[1][0] is not None:
        desc += f"; most spots {hit[1][0]} at image {hit[0]}"
    out = [f'<svg class="mx-grid" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="group" aria-labelledby="{uid}-t {uid}-d" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{uid}-t">Grid scan heat map (spots)</title><desc id="{uid}-d">{desc}'
           f'</desc>']
    first = collection.first_image
    for index in range(cols * rows):
        image = first + index
        col, row = grid_cell(grid, index)
        q = quality.get(image)
        x, y = pad_l + col * size, pad_t + row * size
        if q is None or q[0] is None:
            colour, label = "#e5e7eb", f"Image {image} (cell {col + 1}, {row + 1}): no data"
        else:
            colour = ramp(q[0] / top)
            label = f"Image {image} (cell {col + 1}, {row + 1}): {q[0]} spots"
            if q[1] is not None:
                label += f", {q[1]} Bragg"
            if q[2] is not None:
                label += f", {q[2]:.2f} Å"
        url = cell_url(image)
        out.append(f'<a class="mx-cell" href="{url}" hx-get="{url}" '
                   f'hx-target="#mx-cell-{collection.pk}" hx-swap="innerHTML" '
                   f'data-image="{image}" aria-label="{escape(label)}">'
                   f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{colour}">'
                   f'<title>{escape(label)}</title></rect></a>')
    # legend: the colour ramp from 0 to the most spots
    ly = pad_t + rows * size + 10
    lw = min(160, cols * size)
    for i in range(20):
        out.append(f'<rect x="{_n(pad_l + i * lw / 20)}" y="{ly}" width="{_n(lw / 20 + 0.5)}" '
                   f'height="8" fill="{ramp(i / 19)}"/>')
    out.append(f'<text class="mx-axis" x="{pad_l}" y="{ly + 20}">0</text>'
               f'<text class="mx-axis" x="{pad_l + lw}" y="{ly + 20}" text-anchor="end">'
               f'{max(spots, default=0)} spots</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # numbers and escaped text only


# --- reading many collections at once --------------------------------------------------------

def _quality(collection_ids) -> dict[int, ImageSeries]:
    by_collection: dict[int, ImageSeries] = defaultdict(ImageSeries)
    rows = ImageQuality.objects.filter(collection_id__in=collection_ids).order_by(
        "collection_id", "image_number").values_list(
        "collection_id", "image_number", "spots", "bragg_candidates", "resolution_estimate")
    for cid, image, spots, bragg, res in rows:
        by_collection[cid].rows.append((image, spots, bragg, res))
    return by_collection


def _runs_of(dataset_ids, user) -> dict[int, list[ProcessingRun]]:
    """The visible processing runs made from each of ``dataset_ids`` (raw collections), with
    their shells (``run.shell_by_name``), in two queries."""
    runs = (
        ProcessingRun.objects
        .filter(dataset__input_links__input_id__in=dataset_ids,
                dataset__in=perms.visible_datasets(user))
        .annotate(source_id=F("dataset__input_links__input_id"))
        .select_related("dataset")
        .prefetch_related("shells")
        .order_by("start_time", "pipeline", "dataset_id")
    )
    by_source: dict[int, list[ProcessingRun]] = defaultdict(list)
    for run in runs:
        _shells(run)
        by_source[run.source_id].append(run)
    return by_source


def _shells(run) -> ProcessingRun:
    run.shell_by_name = {s.shell: s for s in run.shells.all()}
    run.outer = run.shell_by_name.get("outer")
    run.overall = run.shell_by_name.get("overall")
    run.cell = [run.cell_a, run.cell_b, run.cell_c, run.cell_alpha, run.cell_beta,
                run.cell_gamma]
    run.has_cell = any(v is not None for v in run.cell)
    run.space_group_display = canonical_space_group(run.space_group) if run.space_group else ""
    return run


def _images(attachments: list[Attachment], collection: DataCollection):
    """(diffraction thumbnail, first snapshot) among a collection's image attachments."""
    snapshot_names = set()
    if collection.snapshots:
        first = str(collection.snapshots[0]).replace("\\", "/").rsplit("/", 1)[-1]
        stem = first.rsplit(".", 1)[0]
        snapshot_names = {first, f"{stem}{THUMB_SUFFIX}"}
    snapshot = next((a for a in attachments if a.name in snapshot_names), None)
    others = [a for a in attachments if a is not snapshot]
    thumb = next((a for a in others if a.name.endswith(THUMB_SUFFIX)), None)
    return thumb or (others[0] if others else None), snapshot


@dataclass
class Card:
    collection: DataCollection
    dataset: Dataset
    parameters: list
    thumbnail: Attachment | None
    snapshot: Attachment | None
    snapshot_name: str
    plot: SafeString | None
    runs: list


def _cards(collections: list[DataCollection], user) -> list[Card]:
    datasets = [c.dataset for c in collections]
    ids = [d.pk for d in datasets]
    parameters.attach(datasets, {p.pk: p for p in ParameterType.objects.all()})
    images = defaultdict(list)
    for a in perms.visible_attachments(user).filter(
            dataset_id__in=ids, kind=Attachment.Kind.IMAGE).order_by("name", "id"):
        images[a.dataset_id].append(a)
    quality = _quality(ids)
    runs = _runs_of(ids, user)
    cards = []
    for c in collections:
        d = c.dataset
        by_key = {p.type.key: p for p in d.shown_parameters}
        thumb, snapshot = _images(images.get(d.pk, []), c)
        series = quality.get(d.pk)
        cards.append(Card(
            collection=c, dataset=d,
            parameters=[by_key[k] for k in CARD_PARAMETERS if k in by_key],
            thumbnail=thumb, snapshot=snapshot,
            snapshot_name=(str(c.snapshots[0]).rsplit("/", 1)[-1] if c.snapshots else ""),
            plot=image_plot(series, f"mx-pia-{d.pk}", width=280, height=130, most=100)
            if series else None,
            runs=runs.get(d.pk, []),
        ))
    return cards


# --- session panel: a card per collection, live --------------------------------------------

@login_required
def session_collections(request, pk):
    """The session's collections as cards, newest first, 20 a page. While the session runs the
    fragment reloads itself every 10 s (one request for the whole panel); the answer drops the
    polling once the session has ended."""
    session = _visible_session(request, pk)
    collections = (
        DataCollection.objects.filter(dataset__session=session)
        .select_related("dataset__sample", "group")
        .order_by(F("dataset__start_time").desc(nulls_last=True), "-dataset_id")
    )
    page = paginate(request, collections, "mx_page", per_page=CARDS_PER_PAGE)
    url = reverse("mx:session-collections", args=[session.pk])
    now = timezone.now()
    context = {
        "session": session,
        "page": page,
        "cards": _cards(list(page), request.user),
        "live": _running(session, now),
        "now": now,
        "live_seconds": LIVE_SECONDS,
        "self_url": f"{url}?mx_page={page.number}",
        "previous_url": f"{url}{page.previous_url}" if page.previous_url else "",
        "next_url": f"{url}{page.next_url}" if page.next_url else "",
    }
    return render(request, "mx/_session_collections.html", context)


# --- dataset panel ---------------------------------------------------------------------------

def _run_context(run: ProcessingRun, user) -> dict:
    """What a run's box shows: shells, messages, files (MTZ, logs), inputs, exports."""
    _shells(run)
    files = perms.visible_attachments(user).filter(dataset=run.dataset_id)
    if run.job_id:
        files = files | perms.visible_attachments(user).filter(job=run.job_id)
    files = list(files.order_by("kind", "name", "id").distinct())
    inputs = list(
        perms.visible_datasets(user).filter(output_links__output=run.dataset_id)
        .select_related("sample").order_by("start_time", "id")
    )
    exports = _exports()
    return {
        "run": run,
        "shell_rows": _shell_rows(run),
        "messages_list": list(run.messages.all()),
        "files": files,
        "inputs": inputs,
        "can_mmcif": "mmcif" in exports,
        "can_table1": "table1_csv" in exports,
    }


#: (label, attribute, digits or formatter) of the rows of a shells table
SHELL_FIELDS = [
    ("Low resolution (Å)", "resolution_low", 2),
    ("High resolution (Å)", "resolution_high", 2),
    ("Observations", "n_observations", 0),
    ("Unique reflections", "n_unique", 0),
    ("Completeness (%)", "completeness", 1),
    ("Multiplicity", "multiplicity", 1),
    ("I/σ(I)", "i_over_sigma", 1),
    ("Rmerge", "r_merge", 3),
    ("Rmeas", "r_meas", 3),
    ("Rpim", "r_pim", 3),
    ("CC½", "cc_half", 3),
    ("CC anomalous", "cc_anomalous", 3),
    ("Anomalous completeness (%)", "anomalous_completeness", 1),
    ("Anomalous multiplicity", "anomalous_multiplicity", 1),
]
SHELL_ORDER = ["overall", "inner", "outer"]


def _shell_rows(run) -> list[dict]:
    shells = [run.shell_by_name.get(name) for name in SHELL_ORDER]
    rows = []
    for label, attr, digits in SHELL_FIELDS:
        values = [getattr(s, attr) if s else None for s in shells]
        if all(v is None for v in values):
            continue
        rows.append({"label": label, "key": attr,
                     "values": [_fmt(v, digits) if isinstance(v, float) else
                                ("" if v is None else str(v)) for v in values]})
    return rows


def _collection_context(dataset, collection, user, selected=None) -> dict:
    grid = _one(collection, "grid")
    series = _quality([dataset.pk]).get(dataset.pk)
    plot = image_plot(series, f"mx-pia-big-{dataset.pk}", width=640, height=220, most=400) \
        if series else None
    heat = None
    if grid is not None:
        by_image = {r[0]: (r[1], r[2], r[3]) for r in (series.rows if series else [])}
        heat = heat_map(collection, grid, by_image,
                        lambda n: reverse("mx:grid-cell", args=[dataset.pk, n]))
    runs = _runs_of([dataset.pk], user).get(dataset.pk, [])
    return {
        "dataset": dataset,
        "collection": collection,
        "grid": grid,
        "plot": plot,
        "heat": heat,
        "strategies": list(collection.strategies.all()),
        **_tabs_context(dataset, runs, user, selected),
    }


def _tabs_context(dataset, runs, user, selected) -> dict:
    current = next((r for r in runs if str(r.dataset_id) == str(selected)), None)
    if current is None and runs:
        done = [r for r in runs if r.status == ProcessingRun.Status.SUCCESS]
        current = min(done or runs, key=lambda r: (
            r.outer.resolution_high if r.outer and r.outer.resolution_high else 99, r.pk))
    context = {"runs": runs, "current": current}
    if current is not None:
        context.update(_run_context(current, user))
    return context


@login_required
def dataset_panel(request, pk):
    """A raw collection: grid heat map, per-image plot, strategies and the processing results
    with a tab per pipeline run. A processed or merged dataset: its run (shells, messages,
    files, inputs) and the mmCIF and Table 1 downloads."""
    dataset = _visible_dataset(request, pk)
    collection = _one(dataset, "mx_collection")
    run = _one(dataset, "mx_processing")
    context = {"dataset": dataset, "collection": collection, "processing": run}
    if collection is not None:
        context.update(_collection_context(dataset, collection, request.user))
    if run is not None:
        context.update(_run_context(run, request.user))
    return render(request, "mx/_dataset_panel.html", context)


@login_required
def collection_runs(request, pk):
    """The processing tabs of a collection, with ``?run=<dataset id>`` selected (htmx tabs:
    the whole box is redrawn, so the selected tab is always the server's)."""
    dataset = _visible_dataset(request, pk)
    if _one(dataset, "mx_collection") is None:
        raise Http404("Not an MX collection.")
    runs = _runs_of([dataset.pk], request.user).get(dataset.pk, [])
    context = {"dataset": dataset,
               **_tabs_context(dataset, runs, request.user, request.GET.get("run"))}
    return render(request, "mx/_runs.html", context)


@login_required
def grid_cell_detail(request, pk, image):
    """What a click on a grid cell shows: the image's position and quality."""
    dataset = _visible_dataset(request, pk)
    collection = _one(dataset, "mx_collection")
    grid = _one(collection, "grid") if collection else None
    if grid is None:
        raise Http404("Not a grid scan.")
    index = image - collection.first_image
    if not 0 <= index < grid.steps_x * grid.steps_y:
        raise Http404("No such cell.")
    col, row = grid_cell(grid, index)
    quality = ImageQuality.objects.filter(collection=collection, image_number=image).first()
    return render(request, "mx/_grid_cell.html", {
        "dataset": dataset, "image": image, "col": col + 1, "row": row + 1,
        "x_um": col * grid.dx, "y_um": row * grid.dy, "quality": quality,
    })


# --- session summary: filters, ranking, CSV --------------------------------------------------

CRITERIA = {
    # key: (label, shell field, lower is better)
    "resolution": ("Resolution", "resolution_high", True),
    "cc_half": ("CC½", "cc_half", False),
    "i_over_sigma": ("I/σ(I)", "i_over_sigma", False),
    "completeness": ("Completeness", "completeness", False),
    "r_meas": ("Rmeas", "r_meas", True),
}
RANK_SHELLS = {"overall": "Overall", "outer": "Outer shell"}
#: sortable columns: key -> (label, function of a row giving a sortable value or None)
COLUMNS = {
    "rank": "Rank",
    "sample": "Sample",
    "collection": "Collection",
    "pipeline": "Pipeline",
    "space_group": "Space group",
    "resolution": "Resolution (Å)",
    "completeness": "Completeness (%)",
    "multiplicity": "Multiplicity",
    "i_over_sigma": "I/σ(I)",
    "r_meas": "Rmeas",
    "cc_half": "CC½",
}
FILTERS = {
    # key: (label, field, shell, test)
    "max_resolution": ("Resolution at most (Å)", "resolution_high", "outer", "max"),
    "min_completeness": ("Completeness at least (%, overall)", "completeness", "overall", "min"),
    "max_rmeas": ("Rmeas at most (overall, e.g. 0.10)", "r_meas", "overall", "max"),
    "min_cc_half": ("CC½ at least (overall, e.g. 0.9)", "cc_half", "overall", "min"),
}


@dataclass
class Row:
    run: ProcessingRun
    sample: str
    sample_key: object
    collections: list
    rank: int = 0
    best: bool = False

    def stat(self, shell: str, name: str):
        s = self.run.shell_by_name.get(shell)
        return getattr(s, name) if s else None


@dataclass
class Summary:
    rows: list[Row]
    errors: dict[str, str]
    values: dict[str, str]
    space_groups: list[str]
    shell: str
    criterion: str
    sort: str
    descending: bool


def _number(text: str, label: str, errors: dict, key: str):
    try:
        value = float(text)
    except ValueError:
        errors[key] = f"{label}: enter a number."
        return None
    if not math.isfinite(value) or value < 0:
        errors[key] = f"{label}: enter a number of at least 0."
        return None
    return value


def _rank_key(row: Row, shell: str, criterion: str):
    _, attr, lower = CRITERIA[criterion]
    value = row.stat(shell, attr)
    status = row.run.status
    if status == ProcessingRun.Status.SUCCESS and value is not None:
        group = 0
    elif status == ProcessingRun.Status.SUCCESS:
        group = 1
    elif status == ProcessingRun.Status.RUNNING:
        group = 2
    else:
        group = 3
    score = 0.0 if value is None else (value if lower else -value)
    return (group, score, -symmetry_order(row.run.space_group), row.run.pk)


def _sort_value(row: Row, key: str):
    if key == "sample":
        return row.sample.lower()
    if key == "collection":
        return ", ".join(d.name for d in row.collections).lower()
    if key == "pipeline":
        return row.run.pipeline.lower()
    if key == "space_group":
        return row.run.space_group
    if key == "resolution":
        return row.stat("outer", "resolution_high")
    return row.stat("overall", key)


def session_summary_rows(session, user, params) -> Summary:
    """The session's processing runs, filtered, ranked and sorted, from request parameters."""
    runs = list(
        ProcessingRun.objects.filter(dataset__session=session,
                                     dataset__in=perms.visible_datasets(user))
        .select_related("dataset__sample").prefetch_related("shells")
    )
    inputs = defaultdict(list)
    for link in (DatasetLink.objects.filter(output_id__in=[r.pk for r in runs],
                                            input__in=perms.visible_datasets(user))
                 .select_related("input").only("output_id", "input__id", "input__name")
                 .order_by("input__start_time", "input_id")):
        inputs[link.output_id].append(link.input)
    rows = []
    for run in runs:
        _shells(run)
        sample = run.dataset.sample
        rows.append(Row(run=run, sample=str(sample) if sample else "",
                        sample_key=sample.pk if sample else f"dataset-{run.pk}",
                        collections=inputs.get(run.pk, [])))
    errors: dict[str, str] = {}
    values = {key: params.get(key, "").strip()[:40] for key in [*FILTERS, "space_group"]}
    for key, (label, attr, shell, test) in FILTERS.items():
        if not values[key]:
            continue
        limit = _number(values[key], label.split(" (")[0], errors, key)
        if limit is None:
            continue
        rows = [r for r in rows if r.stat(shell, attr) is not None and (
            r.stat(shell, attr) <= limit if test == "max" else r.stat(shell, attr) >= limit)]
    space_groups = sorted({r.space_group_display for r in runs if r.space_group},
                          key=lambda sg: (symmetry_order(sg), sg))
    if values["space_group"]:
        wanted = canonical_space_group(values["space_group"])
        rows = [r for r in rows if canonical_space_group(r.run.space_group or "") == wanted]
    shell = params.get("shell", "overall")
    shell = shell if shell in RANK_SHELLS else "overall"
    criterion = params.get("rank_by", "resolution")
    criterion = criterion if criterion in CRITERIA else "resolution"
    rows.sort(key=lambda r: _rank_key(r, shell, criterion))
    seen = set()
    for number, row in enumerate(rows, start=1):
        row.rank = number
        if _rank_key(row, shell, criterion)[0] == 0 and row.sample_key not in seen:
            row.best = True
            seen.add(row.sample_key)
    sort = params.get("sort", "rank")
    descending = sort.startswith("-")
    sort = sort.lstrip("-")
    if sort not in COLUMNS:
        sort, descending = "rank", False
    if sort != "rank":
        present = [r for r in rows if _sort_value(r, sort) not in (None, "")]
        missing = [r for r in rows if _sort_value(r, sort) in (None, "")]
        present.sort(key=lambda r: _sort_value(r, sort), reverse=descending)
        rows = present + missing  # rows without the value last, whatever the direction
    elif descending:
        rows.reverse()
    return Summary(rows=rows, errors=errors, values=values, space_groups=space_groups,
                   shell=shell, criterion=criterion, sort=sort, descending=descending)


def _query(request, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@login_required
def session_summary(request, pk):
    session = _visible_session(request, pk)
    summary = session_summary_rows(session, request.user, request.GET)
    page = paginate(request, summary.rows, "page", per_page=SUMMARY_PER_PAGE)
    headers = []
    for key, label in COLUMNS.items():
        ascending_first = key not in ("completeness", "multiplicity", "i_over_sigma", "cc_half")
        if summary.sort == key:
            target = key if summary.descending else f"-{key}"
            direction = "descending" if summary.descending else "ascending"
        else:
            target, direction = (key if ascending_first else f"-{key}"), "none"
        headers.append({"key": key, "label": label, "aria_sort": direction,
                        "num": key not in ("sample", "collection", "pipeline", "space_group"),
                        "url": "?" + _query(request, sort=target, page=None)})
    exports = _exports()
    context = {
        "session": session,
        "summary": summary,
        "page": page,
        "headers": headers,
        "filters": [(key, label, summary.values[key], summary.errors.get(key))
                    for key, (label, *_) in FILTERS.items()],
        "criteria": [(k, v[0]) for k, v in CRITERIA.items()],
        "criterion_label": CRITERIA[summary.criterion][0],
        "rank_shells": RANK_SHELLS.items(),
        "csv_query": _query(request, page=None),
        "can_table1": "table1_csv" in exports,
        "active": any(summary.values.values()),
    }
    return render(request, "mx/summary.html", context)


CSV_STATS = ["resolution_low", "resolution_high", "completeness", "multiplicity",
             "i_over_sigma", "r_merge", "r_meas", "r_pim", "cc_half", "n_observations",
             "n_unique"]


def _csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


@login_required
def session_summary_csv(request, pk):
    """The filtered, ranked rows of the summary as CSV (values as stored: Å, %, fractions)."""
    session = _visible_session(request, pk)
    summary = session_summary_rows(session, request.user, request.GET)
    if summary.errors:
        return HttpResponse("\n".join(summary.errors.values()) + "\n", status=400,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{session.reference}-mx-summary.csv"')
    writer = csv.writer(response)
    writer.writerow([
        "rank", "best_for_sample", "dataset_id", "dataset", "sample", "collections", "pipeline",
        "status", "space_group", "cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta",
        "cell_gamma", *(f"{name}_overall" for name in CSV_STATS),
        *(f"{name}_outer" for name in CSV_STATS)])
    for row in summary.rows:
        run = row.run
        writer.writerow([
            row.rank, "yes" if row.best else "", run.dataset_id, run.dataset.name, row.sample,
            " ".join(d.name for d in row.collections), run.pipeline, run.status,
            run.space_group, *(_csv(v) for v in run.cell),
            *(_csv(row.stat("overall", name)) for name in CSV_STATS),
            *(_csv(row.stat("outer", name)) for name in CSV_STATS)])
    return response


# --- merge form ------------------------------------------------------------------------------

class MergeForm(forms.Form):
    collections = forms.TypedMultipleChoiceField(
        coerce=int, label="Collections",
        error_messages={"required": "Collections: choose one collection to reprocess, or "
                                    "several to merge.",
                        "invalid_choice": "Collections: %(value)s is not a collection of this "
                                          "session."})
    name = forms.CharField(
        max_length=200, label="Name of the merged dataset",
        error_messages={"required": "Name: give the merged dataset a name.",
                        "max_length": "Name: at most %(limit_value)d characters."})
    resolution = forms.FloatField(
        required=False, label="High-resolution cut-off (Å)",
        error_messages={"invalid": "Resolution cut-off: enter a number of ångströms."})
    space_group = forms.CharField(required=False, max_length=30, label="Space group")
    cell = forms.CharField(required=False, max_length=200, label="Unit cell",
                           help_text="a b c α β γ in Å and degrees, e.g. 78.1 78.1 37.2 90 90 90")

    def __init__(self, *args, choices=(), session=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        self.fields["collections"].choices = choices

    def clean_collections(self):
        return list(dict.fromkeys(self.cleaned_data["collections"]))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Name: give the merged dataset a name.")
        if self.session is not None and self.session.datasets.filter(name=name).exists():
            raise forms.ValidationError(
                f"Name: this session already has a dataset named {name!r}.")
        return name

    def clean_resolution(self):
        value = self.cleaned_data["resolution"]
        if value is not None and not value > 0:
            raise forms.ValidationError("Resolution cut-off: must be greater than 0 Å.")
        return value

    def clean_space_group(self):
        text = self.cleaned_data["space_group"].strip()
        if not text:
            return None
        import gemmi

        try:
            group = gemmi.SpaceGroup(text)
        except (ValueError, RuntimeError):
            raise forms.ValidationError(
                f"Space group: {text!r} is not a space group (e.g. P 21 21 21 or 19).") from None
        if not group.is_sohncke():
            raise forms.ValidationError(
                f"Space group: {group.hm} has mirrors or an inversion centre; a macromolecular "
                f"crystal cannot have it.")
        return group.hm

    def clean_cell(self):
        text = self.cleaned_data["cell"].strip()
        if not text:
            return None
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 6 or not all(math.isfinite(n) and n > 0 for n in numbers):
            raise forms.ValidationError(
                "Unit cell: give six positive numbers, a b c α β γ (Å and degrees).")
        if not all(n < 180 for n in numbers[3:]):
            raise forms.ValidationError("Unit cell: the angles α β γ must be below 180°.")
        return numbers


def _mergeable(session):
    return list(
        DataCollection.objects.filter(dataset__session=session)
        .select_related("dataset__sample__parent", "dataset__sample__mx_crystal__protein",
                        "group")
        .order_by("dataset__sample__name", F("dataset__start_time").asc(nulls_last=True),
                  "dataset_id")
    )


@login_required
def session_merge(request, pk):
    """Merge sweeps of one or more crystals: choose the collections and the options; the
    ``mx.merge`` job is queued and its progress shows on the first input's page."""
    session = _visible_session(request, pk)
    collections = _mergeable(session)
    choices = [(c.pk, c.dataset.name) for c in collections]
    posted = request.method == "POST"
    form = MergeForm(request.POST if posted else None, choices=choices, session=session)
    if posted and form.is_valid():
        if MERGE_TASK not in jobs.job_tasks():
            form.add_error(None, "The merge task (mx.merge) is not installed on this server; "
                                 "nothing was submitted.")
        else:
            chosen = form.cleaned_data["collections"]
            by_pk = {c.pk: c.dataset for c in collections}
            inputs = sorted((by_pk[i] for i in chosen),
                            key=lambda d: (d.start_time is None, d.start_time, d.pk))
            with transaction.atomic():
                job = ProcessingJob.objects.create(
                    session=session, task=MERGE_TASK, created_by=request.user,
                    parameters={"resolution": form.cleaned_data["resolution"],
                                "space_group": form.cleaned_data["space_group"],
                                "cell": form.cleaned_data["cell"],
                                "name": form.cleaned_data["name"]})
                job.inputs.set(inputs)
                jobs.submit(job)
            what = (f"Merge of {len(inputs)} collections" if len(inputs) > 1
                    else f"Reprocessing of {inputs[0].name}")
            messages.success(request, f"{what} queued as job {job.pk}: its progress shows "
                                      "below.")
            return redirect(reverse("dataset-detail", args=[inputs[0].pk]) + "#jobs")
    chosen = {str(v) for v in (request.POST.getlist("collections") if posted
                               else request.GET.getlist("collection"))}
    rows = []
    for c in collections:
        sample = c.dataset.sample
        crystal = _one(sample, "mx_crystal") if sample else None
        rows.append({"collection": c, "dataset": c.dataset, "sample": sample,
                     "holder": sample.parent if sample and sample.parent_id else None,
                     "crystal": crystal, "checked": str(c.pk) in chosen})
    status = 400 if posted else 200
    return render(request, "mx/merge.html",
                  {"session": session, "form": form, "rows": rows}, status=status)


# --- downloads: Table 1, mmCIF ---------------------------------------------------------------

def _ids(values) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit():
            raise Http404("Not a dataset.")
        ids.append(int(value))
    return list(dict.fromkeys(ids))


@login_required
def table1(request):
    """Table 1 of several datasets: ``?dataset=1&dataset=2&format=csv|latex``. Every dataset
    must be visible (else 404)."""
    ids = _ids(request.GET.getlist("dataset"))
    if not ids:
        return HttpResponse("Give one or more datasets: ?dataset=<id>&dataset=<id>.\n",
                            status=400, content_type="text/plain; charset=utf-8")
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "latex"):
        return HttpResponse("format: csv or latex.\n", status=400,
                            content_type="text/plain; charset=utf-8")
    found = perms.visible_datasets(request.user).in_bulk(ids)
    if len(found) != len(ids):
        raise Http404("No such dataset.")
    datasets = [found[i] for i in ids]
    exports = _exports()
    if "table1_csv" not in exports:
        return HttpResponse("Table 1 export is not installed.\n", status=501,
                            content_type="text/plain; charset=utf-8")
    if fmt == "csv":
        body, content_type, suffix = exports["table1_csv"](datasets), "text/csv", "csv"
    else:
        body, content_type, suffix = exports["table1_latex"](datasets), "application/x-tex", "tex"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="table1.{suffix}"'
    return response


@login_required
def dataset_mmcif(request, pk):
    """The dataset's deposition mmCIF (data collection, reflections, software)."""
    dataset = _visible_dataset(request, pk)
    exports = _exports()
    if "mmcif" not in exports:
        return HttpResponse("mmCIF export is not installed.\n", status=501,
                            content_type="text/plain; charset=utf-8")
    body = exports["mmcif"](dataset)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name) or f"dataset-{dataset.pk}"
    response = HttpResponse(body, content_type="chemical/x-mmcif; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe}.cif"'
    return response

