"""The crystallographer's screens: the session panel (collection cards, live), the dataset panel
(grid heat map, per-image plot, strategies, processing tabs), and their permissions and query
counts. Helpers here build MX rows with the ORM; the other test_views_*.py files import them."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mmcat.dictionary import set_parameters, sync_parameter_types
from mmcat.models import Attachment, Dataset, DatasetLink, ProposalMember
from mmcat.testing import DatasetFactory, PersonFactory, SampleFactory, SessionFactory, web_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
_numbers = count(1)


# --- builders (imported by the other test_views_*.py) ----------------------------------------

def collection(session, name=None, *, sample=None, minutes=0, images=0, grid=None,
               experiment="rotation", params=None, snapshots=()):
    """A raw MX collection: core dataset with typed parameters, group, collection, and
    ``images`` rows of per-image quality (spots rising, resolution improving)."""
    from mmcat_mx.models import DataCollection, DataCollectionGroup, GridInfo, ImageQuality

    n = next(_numbers)
    dataset = DatasetFactory(session=session, technique="mx", name=name or f"x{n}_1",
                             sample=sample,
                             start_time=session.start + timedelta(minutes=minutes or n))
    set_parameters(dataset, params if params is not None else {
        "wavelength": 0.9763, "exposure_time": 0.02, "oscillation_range": 0.1,
        "number_of_images": max(images, 1), "transmission": 20.0, "detector_distance": 250.0,
        "experiment_type": experiment})
    group = DataCollectionGroup.objects.create(session=session, sample=sample,
                                               experiment_type=experiment,
                                               start_time=dataset.start_time)
    c = DataCollection.objects.create(dataset=dataset, group=group, number_of_images=images,
                                      image_template=f"{dataset.name}_####.cbf",
                                      image_directory="/data/visit", snapshots=list(snapshots))
    if grid:
        GridInfo.objects.create(collection=c, steps_x=grid[0], steps_y=grid[1], dx=20, dy=20,
                                snaked=True)
    ImageQuality.objects.bulk_create([
        ImageQuality(collection=c, image_number=i, spots=10 * i, bragg_candidates=5 * i,
                     resolution_estimate=4.0 - i / max(images, 1))
        for i in range(1, images + 1)])
    return c


def run(inputs, pipeline="xia2 3dii", *, status="success", space_group="P 21 21 21",
        kind=Dataset.Kind.PROCESSED, overall=None, outer=None, inner=None, anomalous=False,
        session=None):
    """A processing run (processed dataset, lineage links to ``inputs``, shells)."""
    from mmcat_mx.models import ProcessingRun, ShellStatistics

    first = inputs[0].dataset
    n = next(_numbers)
    dataset = Dataset.objects.create(session=session or first.session, technique="mx",
                                     kind=kind, name=f"{first.name} {pipeline} {n}",
                                     sample=first.sample)
    for c in inputs:
        DatasetLink.objects.create(output=dataset, input=c.dataset, role="sweep")
    r = ProcessingRun.objects.create(
        dataset=dataset, pipeline=pipeline, status=status, space_group=space_group,
        cell_a=78.1, cell_b=78.1, cell_c=37.2, cell_alpha=90, cell_beta=90, cell_gamma=90,
        anomalous=anomalous)
    defaults = {
        "overall": {"resolution_low": 40.0, "resolution_high": 1.8, "completeness": 99.5,
                    "multiplicity": 6.5, "i_over_sigma": 12.0, "r_meas": 0.06,
                    "cc_half": 0.998, "n_observations": 120000, "n_unique": 18000},
        "inner": {"resolution_low": 40.0, "resolution_high": 4.9, "completeness": 99.0,
                  "r_meas": 0.03, "cc_half": 0.999, "i_over_sigma": 40.0},
        "outer": {"resolution_low": 1.85, "resolution_high": 1.8, "completeness": 98.0,
                  "multiplicity": 6.0, "i_over_sigma": 1.5, "r_meas": 0.9, "cc_half": 0.55},
    }
    if outer and "resolution_high" in outer and "resolution_high" not in (overall or {}):
        overall = {**(overall or {}), "resolution_high": outer["resolution_high"]}
    for shell, values in (("overall", overall), ("inner", inner), ("outer", outer)):
        if status != "success":
            continue
        ShellStatistics.objects.create(run=r, shell=shell, **{**defaults[shell],
                                                              **(values or {})})
    return r


def attach(dataset, name, content=b"data", kind="other"):
    return Attachment.objects.create(session=dataset.session, dataset=dataset, name=name,
                                     kind=kind, file=SimpleUploadedFile(name, content))


def queries(client, url, status=200):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return len(captured), response.content.decode()


@pytest.fixture(autouse=True)
def dictionary():
    sync_parameter_types()


@pytest.fixture
def browser(member):
    return web_client(member)


@pytest.fixture
def outsider():
    return web_client(PersonFactory())


# --- session panel ---------------------------------------------------------------------------

def test_session_page_shows_the_lazy_mx_panel(browser, session):
    collection(session)
    html = browser.get(reverse("session-detail", args=[session.pk])).content.decode()
    url = reverse("mx:session-collections", args=[session.pk])
    assert f'hx-get="{url}"' in html and "Data collections (MX)" in html


def test_no_mx_panel_for_a_session_without_mx(browser, member):
    other = SessionFactory(beamline__techniques=["em"])
    ProposalMember.objects.create(proposal=other.proposal, person=member)
    html = browser.get(reverse("session-detail", args=[other.pk])).content.decode()
    assert "mx:session-collections" not in html and "/mx/sessions/" not in html


def test_cards_newest_first_with_parameters_thumbnail_plot_and_statuses(browser, session):
    sample = SampleFactory(proposal=session.proposal, name="x828", component="BAZ2BA")
    old = collection(session, "old_1", sample=sample, minutes=5, images=50)
    new = collection(session, "new_1", sample=sample, minutes=30, images=3600,
                     snapshots=["/data/visit/new_1_snapshot1.png"])
    attach(new.dataset, "new_1_0001_thumb.png", PNG, kind="image")
    snap = attach(new.dataset, "new_1_snapshot1.png", PNG, kind="image")
    run(new and [new], "xia2 3dii", outer={"resolution_high": 1.62})
    run([new], "autoPROC", status="failed")
    run([new], "fast_dp", status="running")
    html = browser.get(reverse("mx:session-collections", args=[session.pk])).content.decode()
    assert html.index(f'id="mx-card-{new.pk}"') < html.index(f'id="mx-card-{old.pk}"')
    card = html[html.index(f'id="mx-card-{new.pk}"'):html.index(f'id="mx-card-{old.pk}"')]
    assert 'data-key="wavelength"' in card and "0.9763 Å" in card
    assert "Exposure time per image" in card and "0.02 s" in card
    assert "_thumb.png" not in card or "Diffraction image of new_1" in card
    assert 'alt="Diffraction image of new_1"' in card
    assert f'{reverse("attachment-download", args=[snap.pk])}?inline=1' in card
    assert 'alt="Crystal snapshot of new_1"' in card
    assert '<svg class="mx-plot"' in card and "3600 images" in card
    assert card.count('class="mx-hover"') == 100  # 3600 images pooled into 100 hover targets
    assert 'data-status="success"' in card and "1.62 Å" in card
    assert 'data-status="failed"' in card and 'data-status="running"' in card
    old_card = html[html.index(f'id="mx-card-{old.pk}"'):]
    assert "No image" in old_card and "No snapshot" in old_card and "none yet" in old_card


def test_cards_are_paginated_by_twenty(browser, session):
    for i in range(23):
        collection(session, f"c{i:02d}", minutes=i + 1)
    url = reverse("mx:session-collections", args=[session.pk])
    html = browser.get(url).content.decode()
    assert html.count('class="mx-card"') == 20 and "c22" in html and "c02" not in html
    assert "Page 1 of 2" in html and f'hx-get="{url}?mx_page=2"' in html
    html = browser.get(url + "?mx_page=2").content.decode()
    assert html.count('class="mx-card"') == 3 and "c00" in html


def test_panel_polls_every_ten_seconds_while_the_session_runs(browser, session):
    collection(session)
    url = reverse("mx:session-collections", args=[session.pk])
    html = browser.get(url).content.decode()
    assert 'hx-trigger="every 10s"' in html and 'data-live="on"' in html
    assert f'hx-get="{url}?mx_page=1"' in html and 'hx-select="#mx-collections"' in html
    session.end = timezone.now() - timedelta(minutes=1)
    session.start = session.end - timedelta(hours=8)
    session.save()
    html = browser.get(url).content.decode()
    assert "every 10s" not in html and 'data-live="off"' in html


def test_session_panel_constant_queries(browser, session, member):
    def fill(n):
        for _ in range(n):
            c = collection(session, images=30)
            attach(c.dataset, f"{c.dataset.name}_thumb.png", PNG, kind="image")
            run([c], "xia2")
            run([c], "autoPROC", status="failed")

    url = reverse("mx:session-collections", args=[session.pk])
    fill(5)
    few, _ = queries(browser, url)
    fill(35)
    many, html = queries(browser, url)
    assert html.count('class="mx-card"') == 20
    assert few == many, (few, many)
    assert many <= 14


def test_merged_run_shows_on_each_sweep_and_only_visible_runs(browser, session):
    a, b = collection(session, "sweep_a"), collection(session, "sweep_b")
    merged = run([a, b], "xia2.multiplex", kind=Dataset.Kind.MERGED)
    # a run whose dataset lives in another proposal's session stays hidden
    hidden = run([a], "secret-pipeline", session=SessionFactory())
    html = browser.get(reverse("mx:session-collections", args=[session.pk])).content.decode()
    assert html.count(f'data-run="{merged.pk}"') == 2
    assert f'data-run="{hidden.pk}"' not in html and "secret-pipeline" not in html


# --- dataset panel ---------------------------------------------------------------------------

def test_dataset_page_shows_the_lazy_mx_panel(browser, session):
    c = collection(session)
    html = browser.get(reverse("dataset-detail", args=[c.pk])).content.decode()
    assert f'hx-get="{reverse("mx:dataset-panel", args=[c.pk])}"' in html
    other = DatasetFactory(session=session, technique="em")
    html = browser.get(reverse("dataset-detail", args=[other.pk])).content.decode()
    assert "/mx/datasets/" not in html


def test_raw_panel_heat_map_plot_strategies_and_tabs(browser, session):
    from mmcat_mx.models import ProcessingMessage, ScreeningStrategy

    c = collection(session, "grid_1", images=12, grid=(4, 3), experiment="mesh")
    ScreeningStrategy.objects.create(collection=c, program="EDNA", rank=1, space_group="P4",
                                     axis_start=0, axis_end=90, oscillation_range=0.5,
                                     number_of_images=180, exposure_time=0.04, resolution=1.9)
    best = run([c], "xia2 3dii", outer={"resolution_high": 1.6})
    worse = run([c], "fast_dp", outer={"resolution_high": 2.1})
    mtz = attach(best.dataset, "xia2_free.mtz", b"MTZ ")
    log = attach(best.dataset, "xia2.txt", b"log", kind="log")
    ProcessingMessage.objects.create(run=best, severity="warning", text="Ice rings")
    html = browser.get(reverse("mx:dataset-panel", args=[c.pk])).content.decode()
    # heat map: 12 cells, row by row: image 5 is column 1 of row 2
    assert html.count('class="mx-cell"') == 12
    assert "Image 5 (cell 1, 2): 50 spots" in html and "Image 8 (cell 4, 2)" in html
    assert 'role="group"' in html and "Grid scan heat map (spots)" in html
    assert reverse("mx:grid-cell", args=[c.pk, 5]) in html
    assert "Per-image analysis" in html and '<svg class="mx-plot"' in html
    assert 'id="mx-strategies"' in html and "EDNA" in html
    # tabs: the best run (lowest outer resolution) is selected, the other is a link
    assert f'id="mx-tab-{best.pk}"' in html and f'id="mx-tab-{worse.pk}"' in html
    tab = html[html.index(f'id="mx-tab-{best.pk}"'):]
    assert 'aria-selected="true"' in tab[:tab.index(">")]
    assert f'id="mx-shells-{best.pk}"' in html and f'id="mx-shells-{worse.pk}"' not in html
    assert "Ice rings" in html
    assert reverse("attachment-download", args=[mtz.pk]) in html and "Download MTZ" in html
    assert reverse("attachment-download", args=[log.pk]) in html
    url = reverse("mx:collection-runs", args=[c.pk]) + f"?run={worse.pk}"
    html = browser.get(url).content.decode()
    assert f'id="mx-shells-{worse.pk}"' in html and f'id="mx-shells-{best.pk}"' not in html


def test_shells_table_columns(browser, session):
    c = collection(session)
    r = run([c], overall={"r_meas": 0.048, "cc_half": 0.999}, outer={"r_meas": 1.234})
    html = browser.get(reverse("mx:dataset-panel", args=[r.pk])).content.decode()
    table = html[html.index(f'id="mx-shells-{r.pk}"'):html.index("</table>")]
    assert '<th scope="col" class="num">Overall</th>' in table
    row = table[table.index('data-key="r_meas"'):]
    row = row[:row.index("</tr>")]
    assert row.index("0.048") < row.index("0.030") < row.index("1.234")


def test_grid_cell_detail(browser, session, outsider):
    c = collection(session, images=12, grid=(4, 3))
    html = browser.get(reverse("mx:grid-cell", args=[c.pk, 5])).content.decode()
    assert "Image 5" in html and "column 1, row 2" in html and "0.0 µm, 20.0 µm" in html
    assert browser.get(reverse("mx:grid-cell", args=[c.pk, 13])).status_code == 404
    plain = collection(session)
    assert browser.get(reverse("mx:grid-cell", args=[plain.pk, 1])).status_code == 404
    assert outsider.get(reverse("mx:grid-cell", args=[c.pk, 5])).status_code == 404


def test_processed_panel_shows_run_inputs_messages_and_exports(browser, session):
    from mmcat_mx.models import ProcessingMessage

    a, b = collection(session, "s1"), collection(session, "s2")
    merged = run([a, b], "autoPROC", kind=Dataset.Kind.MERGED, space_group="P 3 2 1")
    ProcessingMessage.objects.create(run=merged, severity="error", text="Twinning suspected")
    attach(merged.dataset, "truncate-unique.mtz", b"MTZ ")
    html = browser.get(reverse("mx:dataset-panel", args=[merged.pk])).content.decode()
    assert "P 3 2 1" in html and "Twinning suspected" in html and "Download MTZ" in html
    assert "Made from" in html and ">s1</a>" in html and ">s2</a>" in html
    assert f'id="mx-shells-{merged.pk}"' in html
    try:
        import mmcat_mx.mmcif  # noqa: F401
        assert reverse("mx:dataset-mmcif", args=[merged.pk]) in html
    except ImportError:
        assert reverse("mx:dataset-mmcif", args=[merged.pk]) not in html


def test_dataset_panel_constant_queries(browser, session):
    from mmcat_mx.models import ProcessingMessage, ScreeningStrategy

    c = collection(session, images=20, grid=(5, 4))

    def fill(n):
        for i in range(n):
            r = run([c], f"pipe{i}")
            attach(r.dataset, f"p{i}.mtz")
            ProcessingMessage.objects.create(run=r, text="note")
            ScreeningStrategy.objects.create(collection=c, program="EDNA", rank=i + 1)

    url = reverse("mx:dataset-panel", args=[c.pk])
    fill(2)
    few, _ = queries(browser, url)
    fill(20)
    many, html = queries(browser, url)
    assert html.count('role="tab"') == 22
    assert few == many, (few, many)


def test_processed_panel_constant_queries(browser, session):
    from mmcat_mx.models import ProcessingMessage

    sweeps = [collection(session) for _ in range(2)]
    merged = run(sweeps, "multiplex", kind=Dataset.Kind.MERGED)
    url = reverse("mx:dataset-panel", args=[merged.pk])
    few, _ = queries(browser, url)
    for i in range(15):
        c = collection(session)
        DatasetLink.objects.create(output=merged.dataset, input=c.dataset, role="sweep")
        attach(merged.dataset, f"log{i}.txt", kind="log")
        ProcessingMessage.objects.create(run=merged, text=f"note {i}")
    many, html = queries(browser, url)
    assert html.count("note ") == 15 and html.count('data-attachment-id="') == 15
    assert few == many, (few, many)


def test_panels_hidden_from_outsiders(outsider, session):
    c = collection(session, images=4, grid=(2, 2))
    r = run([c])
    for url in [reverse("mx:session-collections", args=[session.pk]),
                reverse("mx:dataset-panel", args=[c.pk]),
                reverse("mx:dataset-panel", args=[r.pk]),
                reverse("mx:collection-runs", args=[c.pk]),
                reverse("mx:grid-cell", args=[c.pk, 1])]:
        assert outsider.get(url).status_code == 404, url


def test_panels_for_members(browser, session):
    c = collection(session, images=4, grid=(2, 2))
    r = run([c])
    for url in [reverse("mx:session-collections", args=[session.pk]),
                reverse("mx:dataset-panel", args=[c.pk]),
                reverse("mx:dataset-panel", args=[r.pk]),
                reverse("mx:collection-runs", args=[c.pk]),
                reverse("mx:grid-cell", args=[c.pk, 1])]:
        assert browser.get(url).status_code == 200, url


def test_anonymous_is_sent_to_sign_in(client, session):
    response = client.get(reverse("mx:session-collections", args=[session.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_grid_cells_are_numbered_row_by_row():
    from mmcat_mx.models import GridInfo
    from mmcat_mx.views import grid_cell

    # the MX tables' convention: image N is cell N, row by row, snaked or not
    for snaked in (True, False):
        grid = GridInfo(steps_x=3, steps_y=2, dx=1, dy=1, snaked=snaked)
        assert [grid_cell(grid, i) for i in range(6)] == [(0, 0), (1, 0), (2, 0),
                                                          (0, 1), (1, 1), (2, 1)]
