"""The merge form: choosing collections, validating the options, queuing the ``mx.merge`` job."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse
from test_views import collection, queries

from mmcat import jobs
from mmcat.dictionary import sync_parameter_types
from mmcat.models import ProcessingJob
from mmcat.testing import PersonFactory, SampleFactory, web_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]


@pytest.fixture(autouse=True)
def dictionary():
    sync_parameter_types()


@pytest.fixture
def browser(member):
    return web_client(member)


@pytest.fixture
def outsider():
    return web_client(PersonFactory())


@pytest.fixture
def submitted(monkeypatch):
    """Jobs handed to ``mmcat.jobs.submit`` (the real queue is not needed here); the merge
    task counts as installed even before the task module lands."""
    seen = []
    tasks = dict(jobs.job_tasks())
    tasks.setdefault("mx.merge", object())
    monkeypatch.setattr(jobs, "job_tasks", lambda: tasks)
    monkeypatch.setattr(jobs, "submit", lambda job: seen.append(job) or job)
    return seen


@pytest.fixture
def sweeps(session):
    holder = SampleFactory(proposal=session.proposal, name="puck7", component="")
    crystal = SampleFactory(proposal=session.proposal, name="ins3", component="INS",
                            parent=holder)
    other = SampleFactory(proposal=session.proposal, name="ins4", component="INS")
    return [collection(session, "ins3_1", sample=crystal, minutes=10),
            collection(session, "ins3_2", sample=crystal, minutes=20),
            collection(session, "ins4_1", sample=other, minutes=30)]


def test_form_lists_collections_with_sample_and_holder(browser, session, sweeps):
    html = browser.get(reverse("mx:session-merge", args=[session.pk])).content.decode()
    for c in sweeps:
        assert f'id="mx-c-{c.pk}"' in html and f'<label for="mx-c-{c.pk}">' in html
    assert "INS-ins3" in html and "puck7" in html and "INS-ins4" in html
    for field in ("id_name", "id_resolution", "id_space_group", "id_cell"):
        assert f'<label for="{field}">' in html


def test_valid_merge_creates_and_submits_the_job(browser, member, session, sweeps, submitted):
    url = reverse("mx:session-merge", args=[session.pk])
    response = browser.post(url, {
        "collections": [sweeps[2].pk, sweeps[0].pk], "name": "INS merged",
        "resolution": "1.9", "space_group": "p213", "cell": "78.1, 78.1, 78.1, 90, 90, 90"})
    job = ProcessingJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dataset-detail", args=[sweeps[0].pk]) + "#jobs"
    assert job.task == "mx.merge" and job.session == session and job.created_by == member
    assert job.parameters == {"resolution": 1.9, "space_group": "P 21 3",
                              "cell": [78.1, 78.1, 78.1, 90.0, 90.0, 90.0],
                              "name": "INS merged"}
    assert set(job.inputs.values_list("pk", flat=True)) == {sweeps[0].pk, sweeps[2].pk}
    assert submitted == [job]
    # the job shows with its progress bar on the first input's page
    html = browser.get(response["Location"]).content.decode()
    assert f'id="job-{job.pk}"' in html and "Merge of 2 collections queued" in html


def test_one_collection_is_reprocessed_with_new_options(browser, session, sweeps, submitted):
    response = browser.post(reverse("mx:session-merge", args=[session.pk]), {
        "collections": [sweeps[0].pk], "name": "x1 at 2 A", "resolution": "2.0"})
    assert response.status_code == 302
    job = ProcessingJob.objects.get()
    assert list(job.inputs.values_list("pk", flat=True)) == [sweeps[0].pk]
    assert job.parameters["resolution"] == 2.0


def test_options_are_optional(browser, session, sweeps, submitted):
    response = browser.post(reverse("mx:session-merge", args=[session.pk]), {
        "collections": [sweeps[0].pk, sweeps[1].pk], "name": "two sweeps"})
    assert response.status_code == 302
    assert ProcessingJob.objects.get().parameters == {
        "resolution": None, "space_group": None, "cell": None, "name": "two sweeps"}


@pytest.mark.parametrize(("data", "message"), [
    ({"collections": []}, "Collections: choose one collection to reprocess, or several"),
    ({"collections": ["999999", "first"]}, "Collections: 999999 is not a collection"),
    ({"name": ""}, "Name: give the merged dataset a name."),
    ({"name": "   "}, "Name: give the merged dataset a name."),
    ({"name": "ins3_1"}, "Name: this session already has a dataset named"),
    ({"resolution": "0"}, "Resolution cut-off: must be greater than 0 Å."),
    ({"resolution": "-2"}, "Resolution cut-off: must be greater than 0 Å."),
    ({"resolution": "high"}, "Resolution cut-off: enter a number of ångströms."),
    ({"resolution": "nan"}, "Resolution cut-off: enter a number of ångströms."),
    ({"space_group": "P 7"}, "Space group: &#x27;P 7&#x27; is not a space group"),
    ({"space_group": "P -1"}, "Space group: P -1 has mirrors or an inversion centre"),
    ({"cell": "78 78 37 90 90"}, "Unit cell: give six positive numbers"),
    ({"cell": "78 78 37 90 90 -90"}, "Unit cell: give six positive numbers"),
    ({"cell": "78 78 abc 90 90 90"}, "Unit cell: give six positive numbers"),
    ({"cell": "78 78 37 90 190 90"}, "Unit cell: the angles α β γ must be below 180°."),
])
def test_bad_input_names_the_field_and_writes_nothing(browser, session, sweeps, submitted,
                                                      data, message):
    form = {"collections": [sweeps[0].pk, sweeps[1].pk], "name": "merged",
            "resolution": "2.0", "space_group": "P 21 3", "cell": "78 78 78 90 90 90"}
    form.update(data)
    if form["collections"] and "first" in [str(v) for v in form["collections"]]:
        form["collections"] = [sweeps[0].pk if v == "first" else v for v in form["collections"]]
    response = browser.post(reverse("mx:session-merge", args=[session.pk]), form)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html, html[html.find("mx-merge-errors"):][:800]
    assert "Nothing was submitted" in html
    assert not ProcessingJob.objects.exists() and submitted == []
    # what was typed and ticked stays
    if data.get("name", "merged").strip():
        assert f'value="{data.get("name", "merged")}"' in html


def test_collections_of_another_session_are_refused(browser, session, sweeps, submitted):
    from mmcat.testing import SessionFactory

    elsewhere = collection(SessionFactory(proposal=session.proposal), "far_1")
    response = browser.post(reverse("mx:session-merge", args=[session.pk]), {
        "collections": [sweeps[0].pk, elsewhere.pk], "name": "mix"})
    assert response.status_code == 400
    assert f"Collections: {elsewhere.pk} is not a collection of this session" in (
        response.content.decode())
    assert not ProcessingJob.objects.exists()


def test_missing_task_is_an_error_not_a_crash(browser, session, sweeps, monkeypatch):
    monkeypatch.setattr(jobs, "job_tasks", lambda: {})
    response = browser.post(reverse("mx:session-merge", args=[session.pk]), {
        "collections": [sweeps[0].pk, sweeps[1].pk], "name": "m"})
    assert response.status_code == 400 and "not installed" in response.content.decode()
    assert not ProcessingJob.objects.exists()


def test_merge_permissions(browser, outsider, session, sweeps, submitted):
    url = reverse("mx:session-merge", args=[session.pk])
    assert browser.get(url).status_code == 200
    assert outsider.get(url).status_code == 404
    response = outsider.post(url, {"collections": [sweeps[0].pk, sweeps[1].pk], "name": "x"})
    assert response.status_code == 404 and not ProcessingJob.objects.exists()


def test_merge_form_constant_queries(browser, session):
    url = reverse("mx:session-merge", args=[session.pk])
    for _ in range(3):
        collection(session, sample=SampleFactory(proposal=session.proposal,
                                                 parent=SampleFactory(proposal=session.proposal)))
    few, _ = queries(browser, url)
    for _ in range(30):
        collection(session, sample=SampleFactory(proposal=session.proposal,
                                                 parent=SampleFactory(proposal=session.proposal)))
    many, html = queries(browser, url)
    assert html.count('name="collections"') == 33
    assert few == many, (few, many)
