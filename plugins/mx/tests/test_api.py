"""/api/v1/mx/: the calls of beamline control and processing pipelines, who may make them, and
what they cost in queries. Processing results come from the real files in mmcat_mx/realdata/
(expected values: /work/shared/reference/realdata/README.md §2.1 and §2.3)."""

from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

import mmcat_mx
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, Dataset, Person, ProcessingJob
from mmcat.testing import BeamlineFactory, DatasetFactory, PersonFactory, SessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]
REALDATA = Path(mmcat_mx.__file__).parent / "realdata"

if apps.is_installed("mmcat_mx"):
    from mmcat_mx.ingest import add_image_quality, processing_from_parse, record_processing
    from mmcat_mx.models import (
        DataCollection,
        GridInfo,
        ImageQuality,
        ProcessingRun,
        ScreeningStrategy,
        ShellStatistics,
    )
    from mmcat_mx.parsers import autoproc_xml

START = {
    "name": "BAZ2BA-x828_1", "experiment_type": "SAD",
    "image_directory": "/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828",
    "image_template": "BAZ2BA-x828_1_####.cbf", "first_image": 1, "number_of_images": 1800,
    "axis": "omega", "start_time": "2026-11-24T10:02:11Z",
    "parameters": {"wavelength": 0.92, "exposure_time": {"value": 50, "unit": "ms"},
                   "oscillation_start": 0, "oscillation_range": 0.1,
                   "detector_distance": 189.45, "transmission": 20, "flux": 2.1e12,
                   "beam_size_x": 50, "beam_size_y": 20, "resolution": 1.75,
                   "detector": "PILATUS 6M"},
}
README_OVERALL_XIA2 = {"resolution_high": 1.9, "r_merge": 0.048, "r_meas": 0.057,
                       "n_unique": 18787, "i_over_sigma": 19.3, "completeness": 99.9}


@pytest.fixture
def api(member, client_of):
    return client_of(member)


@pytest.fixture
def collection(api, session):
    response = api.post("/api/v1/mx/collections/", {**START, "session": session.reference},
                        format="json")
    assert response.status_code == 201, response.json()
    return DataCollection.objects.get(pk=response.json()["id"])


# --- 1. start -------------------------------------------------------------------------------


def test_start_creates_a_running_collection_and_a_retry_returns_it(api, session):
    body = {**START, "session": session.reference}
    first = api.post("/api/v1/mx/collections/", body, format="json")
    assert first.status_code == 201
    data = first.json()
    assert (data["name"], data["state"], data["session_reference"]) == (
        "BAZ2BA-x828_1", "running", session.reference)
    assert data["group"]["experiment_type"] == "SAD"
    assert data["parameters"]["exposure_time"] == pytest.approx(0.05)
    assert data["parameters"]["detector"] == "PILATUS 6M"
    dataset = Dataset.objects.get(pk=data["id"])
    assert (dataset.technique, dataset.kind) == ("mx", "raw")
    again = api.post("/api/v1/mx/collections/", body, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == data["id"]
    other = api.post("/api/v1/mx/collections/", {**body, "image_template": "other_####.cbf"},
                     format="json")
    assert other.status_code == 409
    assert "image_template" in other.json()["name"][0]
    assert DataCollection.objects.count() == 1


def test_start_by_session_id_with_a_grid(api, session):
    response = api.post("/api/v1/mx/collections/", {
        "session": session.pk, "name": "grid1", "start_time": "2026-11-24T09:50:00Z",
        "grid": {"steps_x": 20, "steps_y": 15, "dx": 10, "dy": 10}}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["grid"] == {"steps_x": 20, "steps_y": 15, "dx": 10.0, "dy": 10.0,
                            "snaked": True, "orientation": "horizontal"}
    assert data["number_of_images"] == 300
    assert data["group"]["experiment_type"] == "mesh"


def test_bad_start_is_a_400_naming_the_fields_and_writes_nothing(api, session):
    response = api.post("/api/v1/mx/collections/", {
        **START, "session": session.reference, "number_of_images": 0,
        "parameters": {"wavelength": {"value": 0.92, "unit": "parsec"}, "transmission": 120},
        "grid": {"steps_x": 2, "steps_y": 2, "dx": 1}}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"number_of_images", "parameters.wavelength",
                           "parameters.transmission", "grid.dy"}
    assert not Dataset.objects.exists()


# --- 2. images ------------------------------------------------------------------------------


def test_images_are_upserted_and_read_back(api, collection):
    url = f"/api/v1/mx/collections/{collection.pk}/images/"
    rows = [{"image_number": n, "spots": 10 * n, "bragg_candidates": 8 * n,
             "resolution_estimate": 2.0, "total_intensity": 1e5} for n in range(1, 1801)]
    response = api.post(url, rows, format="json")
    assert response.json() == {"received": 1800, "created": 1800, "updated": 0, "images": 1800}
    response = api.post(url, {"images": rows[:2]}, format="json")
    assert response.json()["updated"] == 2
    read = api.get(url).json()
    assert read["count"] == 1800
    assert read["images"][0] == {"image_number": 1, "spots": 10, "bragg_candidates": 8,
                                 "resolution_estimate": 2.0, "total_intensity": 1e5}
    bad = api.post(url, [{"image_number": 1801, "spots": "many"}], format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"images[0].image_number", "images[0].spots"}
    detail = api.get(f"/api/v1/mx/collections/{collection.pk}/").json()
    assert detail["image_count"] == 1800
    assert detail["image_quality"]["max_spots"] == 18000
    assert detail["image_quality"]["hits"] == 1800


# --- 3. finish ------------------------------------------------------------------------------


def test_finish_completes_the_collection_and_is_repeatable(api, collection):
    url = f"/api/v1/mx/collections/{collection.pk}/finish/"
    body = {"end_time": "2026-11-24T10:05:41Z", "state": "complete",
            "snapshots": ["/snap/x828_1_0.png"], "parameters": {"flux": 1.9e12}}
    for _ in range(2):
        response = api.post(url, body, format="json")
        assert response.status_code == 200
    data = response.json()
    assert (data["state"], data["end_time"]) == ("complete", "2026-11-24T10:05:41Z")
    assert data["snapshots"] == ["/snap/x828_1_0.png"]
    assert data["parameters"]["flux"] == 1.9e12
    assert data["group"]["end_time"] == "2026-11-24T10:05:41Z"
    bad = api.post(url, {"state": "finished"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"end_time", "state"}


# --- strategies -----------------------------------------------------------------------------


def test_strategies_are_replaced_as_a_whole(api, collection):
    url = f"/api/v1/mx/collections/{collection.pk}/strategies/"
    response = api.post(url, [{"program": "EDNA", "axis_start": 0, "axis_end": 180,
                               "oscillation_range": 0.1, "exposure_time": 0.05,
                               "resolution": 1.9, "number_of_images": 1800}], format="json")
    assert response.status_code == 200
    assert response.json()[0]["rank"] == 1
    response = api.post(url, [{"program": "BEST", "rank": 1}, {"program": "BEST", "rank": 2}],
                        format="json")
    assert [s["program"] for s in api.get(url).json()] == ["BEST", "BEST"]
    assert ScreeningStrategy.objects.count() == 2
    assert api.post(url, [{"rank": 0}], format="json").json().keys() == {
        "strategies[0].program", "strategies[0].rank"}
    assert ScreeningStrategy.objects.count() == 2


# --- 4. processing as JSON ------------------------------------------------------------------


def test_processing_json_built_from_autoproc_xml(api, session):
    result = autoproc_xml.parse(REALDATA / "autoPROC.xml")
    ids = []
    for integration in result["integrations"]:
        name = integration["image_file"].removesuffix("_0001.cbf")
        response = api.post("/api/v1/mx/collections/", {"session": session.pk, "name": name,
                                                        "experiment_type": "helical"},
                            format="json")
        ids.append(response.json()["id"])
    body = {**processing_from_parse(result, pipeline="autoPROC"), "collections": ids,
            "run_id": "ap-1", "anomalous": True,
            "messages": [{"severity": "warning", "text": "Outer shell CC½ is 0.33"}]}
    response = api.post("/api/v1/mx/processing/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["kind"] == "merged" and sorted(data["inputs"]) == sorted(ids)
    assert list(data["shells"]) == ["overall", "inner", "outer"]
    assert data["shells"]["overall"]["n_observations"] == 530047
    assert data["shells"]["inner"]["i_over_sigma"] == 17.4
    assert data["shells"]["outer"]["cc_anomalous"] == -0.023
    assert data["cell"]["a"] == 148.469 and data["space_group"] == "P321"
    assert data["messages"] == [{"severity": "warning", "text": "Outer shell CC½ is 0.33"}]
    again = api.post("/api/v1/mx/processing/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert ProcessingRun.objects.count() == 1 and ShellStatistics.objects.count() == 3
    listed = api.get(f"/api/v1/mx/collections/?session={session.reference}").json()
    assert listed["count"] == 4
    assert all(c["runs"][0]["id"] == data["id"] for c in listed["results"])
    assert listed["results"][0]["runs"][0]["overall"]["completeness"] == 98.9


def test_processing_accepts_the_parser_vocabulary(api, collection):
    response = api.post("/api/v1/mx/processing/", {
        "collection": collection.pk, "pipeline": "fast_dp", "run_id": 3,
        "shells": {"overall": {"mean_i_over_sigma": 12.5, "r_meas_all": 0.061,
                               "r_pim_all": 0.03, "r_meas_within": 0.07}}}, format="json")
    assert response.status_code == 201, response.json()
    overall = response.json()["shells"]["overall"]
    assert (overall["i_over_sigma"], overall["r_meas"], overall["r_pim"]) == (12.5, 0.061, 0.03)
    assert response.json()["name"] == "BAZ2BA-x828_1 fast_dp 3"


def test_bad_processing_json_is_a_400_and_writes_nothing(api, collection):
    response = api.post("/api/v1/mx/processing/", {
        "collections": [collection.pk], "pipeline": "xia2",
        "shells": {"overall": {"cc_half": 99.9}}, "cell": {"a": -1}}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"shells.overall.cc_half", "cell.a"}
    assert not ProcessingRun.objects.exists()


# --- 5. processing as files -----------------------------------------------------------------


def upload(name):
    return SimpleUploadedFile(name, (REALDATA / name).read_bytes())


def run_queued(job_id):
    job_tasks()["mx.ingest_processing"].apply(args=[job_id])
    return ProcessingJob.objects.get(pk=job_id)


@pytest.mark.parametrize(("file", "pipeline", "overall", "shells"), [
    ("ispyb.xml", "xia2", README_OVERALL_XIA2, 3),
    ("autoPROC.xml", "autoPROC", {"resolution_high": 2.199, "r_merge": 0.513, "r_pim": 0.174,
                                  "n_observations": 530047, "cc_half": 0.968,
                                  "cc_anomalous": -0.355}, 3),
    ("CORRECT.LP", "XDS", {"resolution_high": 1.69, "r_merge": 0.048,
                           "i_over_sigma": 16.42}, 2),
])
def test_files_are_attached_and_the_job_stores_readme_values(api, collection, file, pipeline,
                                                             overall, shells):
    response = api.post("/api/v1/mx/processing/files/", {
        "collections": [collection.pk], "pipeline": pipeline, "file": [upload(file)]},
        format="multipart")
    assert response.status_code == 202, response.json()
    job_id = response.json()["job"]
    attachment = Attachment.objects.get(pk=response.json()["attachments"][0])
    assert (attachment.job_id, attachment.name) == (job_id, file)
    replay = api.post("/api/v1/mx/processing/files/", {
        "collections": [collection.pk], "pipeline": pipeline, "file": [upload(file)]},
        format="multipart")
    assert (replay.status_code, replay.json()["job"]) == (200, job_id)
    job = run_queued(job_id)
    assert job.state == "succeeded", job.error
    run = ProcessingRun.objects.get()
    assert run.pipeline == pipeline and run.job_id == job_id
    assert run.shells.count() == shells
    stored = run.shells.get(shell="overall")
    for field, value in overall.items():
        assert getattr(stored, field) == pytest.approx(value), field
    attachment.refresh_from_db()
    assert attachment.dataset_id == run.dataset_id
    listed = api.get(f"/api/v1/mx/processing/?collection={collection.pk}").json()
    assert [r["id"] for r in listed["results"]] == [run.dataset_id]


def test_xia2_txt_through_the_files_endpoint_when_its_parser_is_enabled(api, collection):
    from mmcat.parsing import parsers

    path = REALDATA / "xia2.txt"
    if not path.exists() or not any(p.detect(path) for p in parsers().values()):
        pytest.skip("no enabled parser reads xia2.txt yet")
    response = api.post("/api/v1/mx/processing/files/", {
        "collections": str(collection.pk), "file": [upload("xia2.txt")]}, format="multipart")
    job = run_queued(response.json()["job"])
    assert job.state == "succeeded", job.error
    stored = ProcessingRun.objects.get().shells.get(shell="overall")
    for field, value in README_OVERALL_XIA2.items():
        assert getattr(stored, field) == pytest.approx(value), field


def test_files_need_a_file_and_visible_collections(api, collection):
    response = api.post("/api/v1/mx/processing/files/", {"collections": [collection.pk]},
                        format="multipart")
    assert response.status_code == 400 and "file" in response.json()
    foreign = DatasetFactory(technique="mx")
    response = api.post("/api/v1/mx/processing/files/", {
        "collections": [foreign.pk], "file": [upload("ispyb.xml")]}, format="multipart")
    assert response.status_code == 400
    assert "not found" in response.json()["collections[0]"][0]
    assert not ProcessingJob.objects.exists() and not Attachment.objects.exists()


# --- 6. reading -----------------------------------------------------------------------------


def test_collections_filter_by_session_group_and_sample(api, session, collection):
    other = api.post("/api/v1/mx/collections/", {"session": session.pk, "name": "second",
                                                 "group": collection.group_id},
                     format="json").json()
    lone = api.post("/api/v1/mx/collections/", {"session": session.pk, "name": "lone"},
                    format="json").json()
    by_group = api.get(f"/api/v1/mx/collections/?group={collection.group_id}").json()
    assert {c["id"] for c in by_group["results"]} == {collection.pk, other["id"]}
    assert api.get(f"/api/v1/mx/collections/?session={session.pk}").json()["count"] == 3
    assert api.get("/api/v1/mx/collections/?session=mx9-9").json()["count"] == 0
    assert api.get("/api/v1/mx/collections/?session=nonsense").status_code == 400
    assert api.get("/api/v1/mx/collections/?experiment_type=SAD").json()["count"] == 2
    assert lone["group"]["id"] != collection.group_id


def make_collections(session, count, start=0):
    result = autoproc_xml.parse(REALDATA / "ispyb.xml")
    for index in range(start, start + count):
        dataset = DatasetFactory(session=session, technique="mx", name=f"c{index}")
        collection = DataCollection.objects.create(
            dataset=dataset, group=DataCollection.group.field.related_model.objects.create(
                session=session), number_of_images=10)
        GridInfo.objects.create(collection=collection, steps_x=2, steps_y=5, dx=1, dy=1)
        add_image_quality(collection, [{"image_number": n, "spots": n} for n in range(1, 11)])
        record_processing({**processing_from_parse(result, pipeline="xia2"),
                           "messages": ["note"]}, inputs=[dataset])


def count_queries(api, url):
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200
    return len(captured), response.json()


@pytest.mark.parametrize("url", ["/api/v1/mx/collections/", "/api/v1/mx/processing/"])
def test_list_endpoints_use_a_constant_number_of_queries(api, session, url):
    make_collections(session, 1)
    api.get(url)  # the token's first use of the test records last_used_at
    few, data = count_queries(api, f"{url}?session={session.reference}")
    assert data["count"] == 1
    make_collections(session, 6, start=1)
    many, data = count_queries(api, f"{url}?session={session.reference}")
    assert data["count"] == 7
    assert many == few, (few, many)


def test_detail_of_a_collection_uses_few_queries(api, session):
    make_collections(session, 1)
    collection = DataCollection.objects.get()
    queries, data = count_queries(api, f"/api/v1/mx/collections/{collection.pk}/")
    assert data["runs"][0]["overall"]["r_merge"] == 0.048
    assert queries <= 12


def test_openapi_schema_lists_the_mx_calls(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/v1/mx/collections/", "/api/v1/mx/collections/{id}/images/",
                 "/api/v1/mx/collections/{id}/finish/", "/api/v1/mx/collections/{id}/strategies/",
                 "/api/v1/mx/processing/", "/api/v1/mx/processing/files/"):
        assert path in paths, path


# --- permissions ----------------------------------------------------------------------------


@pytest.fixture
def world(session, member):
    """A session with a collection and a run, and a person for each role."""
    dataset = DatasetFactory(session=session, technique="mx", name="x1")
    group = DataCollection.group.field.related_model.objects.create(session=session)
    collection = DataCollection.objects.create(dataset=dataset, group=group,
                                               number_of_images=10)
    run, _ = record_processing({"pipeline": "xia2", "run_id": "1"}, inputs=[dataset])
    beamline_staff, service = PersonFactory(), PersonFactory(is_service=True)
    session.beamline.staff.add(beamline_staff, service)
    other_beamline = PersonFactory()
    BeamlineFactory().staff.add(other_beamline)
    return {
        "session": session, "collection": collection, "run": run,
        "roles": {
            "member": member, "pi": session.proposal.pi,
            "beamline staff": beamline_staff, "beamline service account": service,
            "facility staff": PersonFactory(role=Person.Role.STAFF),
            "outsider": PersonFactory(), "other beamline staff": other_beamline,
            "member of another proposal": SessionFactory().proposal.pi,
        },
    }


SEES = {"member", "pi", "beamline staff", "beamline service account", "facility staff"}
ROLES = ["member", "pi", "beamline staff", "beamline service account", "facility staff",
         "outsider", "other beamline staff", "member of another proposal"]


@pytest.mark.parametrize("role", ROLES)
def test_reading_needs_sight_of_the_session(world, role, client_of):
    api = client_of(world["roles"][role])
    cid, rid = world["collection"].pk, world["run"].pk
    codes = [api.get(url).status_code for url in (
        f"/api/v1/mx/collections/{cid}/", f"/api/v1/mx/collections/{cid}/images/",
        f"/api/v1/mx/collections/{cid}/strategies/", f"/api/v1/mx/processing/{rid}/")]
    collections = {c["id"] for c in api.get("/api/v1/mx/collections/").json()["results"]}
    runs = {r["id"] for r in api.get("/api/v1/mx/processing/").json()["results"]}
    if role in SEES:
        assert codes == [200] * 4
        assert cid in collections and rid in runs
    else:
        assert codes == [404] * 4
        assert cid not in collections and rid not in runs


@pytest.mark.parametrize("role", ROLES)
def test_writing_needs_sight_of_the_session(world, role, client_of):
    api = client_of(world["roles"][role])
    cid, session = world["collection"].pk, world["session"]
    images = api.post(f"/api/v1/mx/collections/{cid}/images/",
                      [{"image_number": 1, "spots": 5}], format="json")
    finish = api.post(f"/api/v1/mx/collections/{cid}/finish/",
                      {"end_time": "2030-01-01T00:00:00Z", "state": "complete"}, format="json")
    strategies = api.post(f"/api/v1/mx/collections/{cid}/strategies/",
                          [{"program": "EDNA"}], format="json")
    start = api.post("/api/v1/mx/collections/", {"session": session.reference,
                                                 "name": f"new {role}"}, format="json")
    processing = api.post("/api/v1/mx/processing/", {"collection": cid, "pipeline": role},
                          format="json")
    files = api.post("/api/v1/mx/processing/files/", {
        "collections": [cid], "file": [upload("ispyb.xml")]}, format="multipart")
    if role in SEES:
        assert [images.status_code, finish.status_code, strategies.status_code] == [200] * 3
        assert (start.status_code, processing.status_code, files.status_code) == (201, 201, 202)
    else:
        assert [images.status_code, finish.status_code, strategies.status_code] == [404] * 3
        assert (start.status_code, processing.status_code, files.status_code) == (400,) * 3
        assert "not found" in start.json()["session"][0]
        assert "not found" in processing.json()["collection"][0]
        assert not ImageQuality.objects.exists()
        assert not ScreeningStrategy.objects.exists()
        assert ProcessingRun.objects.count() == 1


def test_without_a_token_the_api_answers_401(world):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/mx/collections/").status_code == 401


def test_admin_lists_and_shows_the_mx_tables(session):
    from django.urls import reverse

    from mmcat.testing import web_client

    make_collections(session, 1)
    admin = web_client(PersonFactory(is_staff=True, is_superuser=True, role=Person.Role.ADMIN))
    collection, run = DataCollection.objects.get(), ProcessingRun.objects.get()
    for model, obj in (("protein", None), ("crystal", None), ("datacollectiongroup", None),
                       ("datacollection", collection), ("imagequality", None),
                       ("processingrun", run)):
        assert admin.get(reverse(f"admin:mx_{model}_changelist")).status_code == 200, model
        if obj is not None:
            url = reverse(f"admin:mx_{model}_change", args=[obj.pk])
            assert admin.get(url).status_code == 200, model
