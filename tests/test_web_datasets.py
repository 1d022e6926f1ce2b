"""The dataset page: parameters, files, attachments, live job progress and the lineage graph,
in a constant number of queries; attachments shown and downloaded only by who may see them."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mmcat.dictionary import set_parameters, sync_parameter_types
from mmcat.models import Attachment, DatasetLink, ParameterType, ProcessingJob
from mmcat.testing import DatasetFactory, PersonFactory, SampleFactory, SessionFactory
from mmcat.web.lineage_svg import NODE_H, NODE_W, layout

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def dictionary():
    sync_parameter_types()


def login(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def browser(member):
    return login(member)


def get(client, url, status=200):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status
    return len(captured), response


def page_of(response) -> str:
    return response.content.decode()


def attach(dataset, name, content, **fields):
    return Attachment.objects.create(session=dataset.session, dataset=dataset, name=name,
                                     file=SimpleUploadedFile(name, content), **fields)


def enrich(dataset, n):
    """Give ``dataset`` n files, n attachments, n jobs and n input sweeps."""
    for i in range(n):
        dataset.files.create(path=f"/data/{dataset.name}/img_{i:04d}.cbf", size=1000 + i)
        attach(dataset, f"log{i}.txt", b"log")
        job = ProcessingJob.objects.create(session=dataset.session, task="dummy.count",
                                           state="succeeded", progress=100)
        job.inputs.add(dataset)
        sweep = DatasetFactory(session=dataset.session, name=f"{dataset.name}-sweep{i}",
                               sample=SampleFactory(proposal=dataset.session.proposal))
        DatasetLink.objects.create(output=dataset, input=sweep, role="sweep")


# --- the page --------------------------------------------------------------------------------

def test_dataset_page_constant_queries_whatever_its_size(browser, session):
    small = DatasetFactory(session=session, name="small", kind="merged")
    set_parameters(small, {"dummy_length": 3})
    enrich(small, 1)
    few, response = get(browser, f"/datasets/{small.pk}/")
    big = DatasetFactory(session=session, name="big", kind="merged")
    set_parameters(big, {"dummy_length": 3, "dummy_count": 4, "dummy_label": "a",
                         "dummy_colour": "green", "dummy_when": "2024-01-01T00:00:00Z",
                         "dummy_vector": [1.5, 2]})
    enrich(big, 12)
    many, response = get(browser, f"/datasets/{big.pk}/")
    assert few == many
    page = page_of(response)
    assert '<abbr title="_dummy.length">Length</abbr>' in page
    assert "<td>1.5, 2</td><td>mm</td>" in page
    assert "Files (12)" in page and "img_0011.cbf" in page
    assert "Attachments (12)" in page and "Processing jobs" in page


def test_files_are_paged(browser, session):
    dataset = DatasetFactory(session=session)
    for i in range(60):
        dataset.files.create(path=f"/data/f{i:03d}.cbf")
    _, response = get(browser, f"/datasets/{dataset.pk}/")
    page = page_of(response)
    assert "/data/f049.cbf" in page and "/data/f050.cbf" not in page
    assert 'href="?files_page=2"' in page
    _, response = get(browser, f"/datasets/{dataset.pk}/?files_page=2")
    assert "/data/f050.cbf" in page_of(response)


# --- lineage ---------------------------------------------------------------------------------

def merge_of_sweeps(session, n=4, role="sweep", prefix="xtal"):
    crystals = [SampleFactory(proposal=session.proposal, name=f"{prefix}{i}") for i in range(2)]
    sweeps = [DatasetFactory(session=session, name=f"sweep{i}", sample=crystals[i % 2])
              for i in range(n)]
    merged = DatasetFactory(session=session, name="merged", kind="merged", sample=crystals[0])
    for s in sweeps:
        DatasetLink.objects.create(output=merged, input=s, role=role, software="autoPROC")
    refined = DatasetFactory(session=session, name="refined", kind="derived")
    DatasetLink.objects.create(output=refined, input=merged, role="reflections")
    return sweeps, merged, refined


def test_lineage_svg_links_every_node_marks_merge_and_current(browser, session):
    sweeps, merged, refined = merge_of_sweeps(session)
    _, response = get(browser, f"/datasets/{sweeps[0].pk}/")
    page = page_of(response)
    svg = page.split('<svg')[1].split("</svg>")[0]
    for d in (*sweeps, merged, refined):
        assert f'<a href="/datasets/{d.pk}/"' in svg
    assert re.search(rf'data-dataset-id="{sweeps[0].pk}" data-kind="raw" aria-current="page"',
                     svg)
    assert svg.count('aria-current="page"') == 1
    assert "MERGED · sweep ×4" in svg and "lineage-merged" in svg
    # four inputs of one role: one label at the merge; fewer: a label on each edge
    assert ">sweep</text>" not in svg and svg.count(">reflections</text>") == 1
    assert "sample lyso-xtal0" in svg and "sample lyso-xtal1" in svg
    # the text version of the same links
    assert page.count("→") >= 5


def test_lineage_fragment_and_hidden_datasets(browser, session, member):
    sweeps, merged, _ = merge_of_sweeps(session, n=2)
    foreign = DatasetFactory(session=SessionFactory(), name="someone-elses")
    DatasetLink.objects.create(output=foreign, input=merged, role="reference")
    _, response = get(browser, f"/datasets/{merged.pk}/lineage/")
    fragment = page_of(response)
    assert "<html" not in fragment and 'id="lineage-svg"' in fragment
    assert "someone-elses" not in fragment and f"/datasets/{foreign.pk}/" not in fragment
    get(login(PersonFactory()), f"/datasets/{merged.pk}/lineage/", status=404)


def test_lineage_queries_do_not_grow_with_the_number_of_links(browser, session):
    _, merged, _ = merge_of_sweeps(session, n=2)
    few, _ = get(browser, f"/datasets/{merged.pk}/lineage/")
    other = SessionFactory(proposal=session.proposal)
    _, merged_many, _ = merge_of_sweeps(other, n=30, prefix="c")
    many, response = get(browser, f"/datasets/{merged_many.pk}/lineage/")
    assert few == many
    assert page_of(response).count('class="lineage-node lineage-') == 32


def test_layout_is_layered_left_to_right_without_overlaps():
    """30 sweeps of 3 crystals merged, plus a chain: inputs always left of their outputs, no two
    boxes overlap."""
    nodes = [{"id": i, "name": f"sweep{i}", "kind": "raw", "technique": "mx",
              "session": "mx1-1", "sample": i % 3} for i in range(1, 31)]
    nodes += [{"id": 100, "name": "merged", "kind": "merged", "technique": "mx",
               "session": "mx1-1", "sample": None},
              {"id": 101, "name": "refined", "kind": "derived", "technique": "mx",
               "session": "mx1-1", "sample": None}]
    edges = [{"input": i, "output": 100, "role": "sweep", "job": None, "software": ""}
             for i in range(1, 31)]
    edges += [{"input": 100, "output": 101, "role": "model", "job": None, "software": ""},
              {"input": 1, "output": 101, "role": "reference", "job": None, "software": ""}]
    placed, kept, width, height, total = layout(
        {"nodes": nodes, "edges": edges}, 100, {i: f"crystal{i % 3}" for i in range(1, 31)}, {})
    assert total == 32 and len(placed) == 32 and len(kept) == 32
    for e in kept:
        assert placed[e["input"]].x + NODE_W < placed[e["output"]].x
    boxes = sorted((n.x, n.y) for n in placed.values())
    for (x1, y1), (x2, y2) in zip(boxes, boxes[1:], strict=False):
        assert x1 != x2 or y2 - y1 >= NODE_H
    assert all(0 <= n.x <= width - NODE_W and 0 <= n.y <= height - NODE_H
               for n in placed.values())
    # sweeps of one crystal stay together
    column = sorted((n for n in placed.values() if n.layer == 0), key=lambda n: n.y)
    changes = sum(1 for a, b in zip(column, column[1:], strict=False) if a.sample != b.sample)
    assert changes <= 4


# --- jobs ------------------------------------------------------------------------------------

def test_jobs_poll_every_3s_only_while_one_is_running(browser, session):
    dataset = DatasetFactory(session=session)
    jobs = [ProcessingJob.objects.create(session=session, task=f"dummy.t{i}", state=state,
                                         progress=progress)
            for i, (state, progress) in enumerate([("running", 40), ("queued", 0),
                                                   ("succeeded", 100)])]
    for job in jobs:
        job.inputs.add(dataset)
    _, response = get(browser, f"/datasets/{dataset.pk}/")
    page = page_of(response)
    assert page.count('hx-trigger="every 3s"') == 1
    assert f'hx-get="/datasets/{dataset.pk}/jobs/"' in page
    assert f'id="job-{jobs[0].pk}-progress" max="100" value="40"' in page
    few, response = get(browser, f"/datasets/{dataset.pk}/jobs/")
    fragment = page_of(response)
    assert "<html" not in fragment and 'hx-trigger="every 3s"' in fragment
    for job in jobs:
        job.state, job.progress = "succeeded", 100
        job.save()
    for _ in range(10):
        ProcessingJob.objects.create(session=session, task="dummy.more").inputs.add(dataset)
    ProcessingJob.objects.filter(task="dummy.more").update(state="failed", error="boom")
    many, response = get(browser, f"/datasets/{dataset.pk}/jobs/")
    assert few == many
    fragment = page_of(response)
    assert "hx-trigger" not in fragment and 'data-polling="false"' in fragment
    assert fragment.count('data-state="succeeded"') == 3 and "boom" in fragment


def test_jobs_that_made_the_dataset_are_listed(browser, session):
    raw = DatasetFactory(session=session)
    processed = DatasetFactory(session=session, kind="processed")
    job = ProcessingJob.objects.create(session=session, task="dummy.process",
                                       state="succeeded", progress=100)
    DatasetLink.objects.create(output=processed, input=raw, job=job)
    _, response = get(browser, f"/datasets/{processed.pk}/jobs/")
    assert "dummy.process" in page_of(response)


# --- attachments -----------------------------------------------------------------------------

def test_attachment_text_image_and_binary(browser, session):
    dataset = DatasetFactory(session=session)
    log = attach(dataset, "xia2.txt", b"Resolution 1.5 <b>A</b>\n", kind="log")
    image = attach(dataset, "snapshot.png", PNG, kind="image")
    binary = attach(dataset, "data.mtz", b"MTZ \0\0\x01\x02" * 10, kind="result")
    _, response = get(browser, f"/datasets/{dataset.pk}/")
    page = page_of(response)
    for a in (log, image, binary):
        assert f'href="/attachments/{a.pk}/"' in page
        assert f'href="/attachments/{a.pk}/download/"' in page
    _, response = get(browser, f"/attachments/{log.pk}/")
    assert "Resolution 1.5 &lt;b&gt;A&lt;/b&gt;" in page_of(response)  # escaped, never HTML
    _, response = get(browser, f"/attachments/{image.pk}/")
    assert f'<img id="attachment-image" src="/attachments/{image.pk}/download/?inline=1"' \
        in page_of(response)
    _, response = get(browser, f"/attachments/{binary.pk}/")
    assert 'id="attachment-no-preview"' in page_of(response)
    response = browser.get(f"/attachments/{log.pk}/download/")
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"Resolution 1.5 <b>A</b>\n"
    response = browser.get(f"/attachments/{image.pk}/download/?inline=1")
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Type"] == "image/png"
    # never inline for anything but a raster image
    response = browser.get(f"/attachments/{log.pk}/download/?inline=1")
    assert response["Content-Disposition"].startswith("attachment")


def test_long_text_attachment_is_cut(browser, session):
    dataset = DatasetFactory(session=session)
    big = attach(dataset, "big.log", b"x" * (300 * 1024))
    _, response = get(browser, f"/attachments/{big.pk}/")
    assert 'id="attachment-truncated"' in page_of(response)


def test_missing_attachment_file_is_not_a_500(browser, session):
    dataset = DatasetFactory(session=session)
    gone = attach(dataset, "gone.txt", b"x")
    gone.file.delete(save=False)
    Attachment.objects.filter(pk=gone.pk).update(file="attachments/none/gone.txt")
    _, response = get(browser, f"/attachments/{gone.pk}/")
    assert "missing" in page_of(response)
    get(browser, f"/attachments/{gone.pk}/download/", status=404)


# --- permissions -----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/datasets/{d}/", "/datasets/{d}/lineage/",
                                 "/datasets/{d}/jobs/", "/attachments/{a}/",
                                 "/attachments/{a}/download/"])
def test_dataset_pages_member_200_outsider_404(session, member, url):
    dataset = DatasetFactory(session=session)
    attachment = attach(dataset, "log.txt", b"log")
    url = url.format(d=dataset.pk, a=attachment.pk)
    assert login(member).get(url).status_code == 200
    assert login(PersonFactory()).get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_a_visible_dataset_does_not_reveal_a_hidden_attachment(session, member):
    """An attachment of a job of another session is not shown through a visible dataset."""
    dataset = DatasetFactory(session=session)
    other = SessionFactory()
    job = ProcessingJob.objects.create(session=other, task="dummy.secret")
    secret = Attachment.objects.create(session=other, job=job, name="secret.txt",
                                       file=SimpleUploadedFile("secret.txt", b"s"))
    job.inputs.add(dataset)
    page = page_of(login(member).get(f"/datasets/{dataset.pk}/"))
    assert "dummy.secret" not in page and "secret.txt" not in page
    assert login(member).get(f"/attachments/{secret.pk}/").status_code == 404


def test_parameter_types_without_unit_or_mmcif(browser, session):
    dataset = DatasetFactory(session=session)
    set_parameters(dataset, {"dummy_count": 7})
    ptype = ParameterType.objects.get(key="dummy_count")
    _, response = get(browser, f"/datasets/{dataset.pk}/")
    assert f'<abbr title="dummy_count">{ptype.label}</abbr></td><td>7</td><td></td>' \
        in page_of(response)

