"""Bulk ingestion: atomic, precise about errors, and never duplicating on retry."""

import pytest

from mmcat.models import Datafile, Dataset, DatasetLink, IngestRequest, ParameterValue
from mmcat.testing import DatasetFactory, SampleFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(member, client_of):
    return client_of(member)


def item(session, name, **extra):
    return {"session": session.reference, "technique": "dummy", "name": name, **extra}


def post(api, datasets, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post("/api/v1/ingest/", {"datasets": datasets}, format="json", **headers)


def test_creates_datasets_parameters_files_and_lineage_in_one_request(api, session):
    sample = SampleFactory(proposal=session.proposal)
    response = post(api, [
        item(session, "x1_1", sample=sample.pk, start_time="2026-11-24T10:00:00Z",
             parameters={"dummy_length": {"value": 0.12, "unit": "nm"}, "dummy_count": 900,
                         "dummy_vector": [1, 2.5], "dummy_when": "2026-11-24T10:00:00Z"},
             files=[{"path": "/data/x1_1_master.h5", "size": 10, "format": "nexus"}]),
        item(session, "x1_2", parameters={"dummy_length": 1.3}),
        item(session, "x1_merged", kind="merged",
             inputs=[{"dataset": "#0", "role": "sweep"}, {"dataset": "#1", "role": "sweep"}]),
    ])
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 3
    merged = Dataset.objects.get(name="x1_merged")
    assert merged.kind == "merged"
    assert {link.input.name for link in merged.input_links.all()} == {"x1_1", "x1_2"}
    first = Dataset.objects.get(name="x1_1")
    assert first.sample == sample
    assert {pv.type.key: pv.value for pv in first.parameters.all()} == {
        "dummy_length": pytest.approx(1.2), "dummy_count": 900, "dummy_vector": [1.0, 2.5],
        "dummy_when": "2026-11-24T10:00:00+00:00"}
    assert first.files.get().format == "nexus"


def test_input_may_be_an_existing_dataset_by_id(api, session):
    raw = DatasetFactory(session=session)
    response = post(api, [item(session, "proc", kind="processed",
                               inputs=[{"dataset": raw.pk, "role": "raw data"}])])
    assert response.status_code == 201
    assert DatasetLink.objects.get().input == raw


def test_a_retry_with_the_same_key_writes_nothing_and_answers_the_same(api, session):
    body = [item(session, "x1_1", parameters={"dummy_count": 1}, files=[{"path": "/a"}])]
    first = post(api, body, key="batch-42")
    again = post(api, body, key="batch-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["datasets"] == first.json()["datasets"]
    assert again.json()["replayed"] is True
    assert Dataset.objects.count() == 1
    assert ParameterValue.objects.count() == 1 and Datafile.objects.count() == 1
    assert IngestRequest.objects.get().key == "batch-42"


def test_a_key_reused_for_another_body_is_a_422(api, session):
    assert post(api, [item(session, "a")], key="k").status_code == 201
    response = post(api, [item(session, "b")], key="k")
    assert response.status_code == 422
    assert "different request body" in response.json()["idempotency_key"][0]
    assert not Dataset.objects.filter(name="b").exists()


def test_a_retry_without_key_is_refused_by_name_and_writes_nothing(api, session):
    assert post(api, [item(session, "a")]).status_code == 201
    response = post(api, [item(session, "new"), item(session, "a")])
    assert response.status_code == 400
    assert response.json() == {
        "datasets[1].name": ["A dataset named 'a' already exists in this session."]}
    assert not Dataset.objects.filter(name="new").exists()


def test_one_bad_item_writes_nothing_and_every_error_names_its_field(api, session, member):
    outsider_session = SessionFactory()
    response = post(api, [
        item(session, "good", parameters={"dummy_length": 1}),
        item(session, "bad", parameters={"dummy_length": -1, "nope": 2}, kind="weird",
             start_time="yesterday", files=[{"size": 3}]),
        item(outsider_session, "hidden"),
        item(session, "good"),
        {"session": session.pk, "name": "", "technique": "dummy", "colour": "x"},
        item(session, "c", inputs=[{"dataset": 999999}]),
    ])
    assert response.status_code == 400
    errors = response.json()
    assert "below the minimum" in errors["datasets[1].parameters.dummy_length"][0]
    assert errors["datasets[1].parameters.nope"] == ["Unknown parameter (not in the dictionary)."]
    assert "'weird' is not one of" in errors["datasets[1].kind"][0]
    assert "ISO 8601" in errors["datasets[1].start_time"][0]
    assert errors["datasets[1].files[0].path"] == ["Each file needs a path."]
    assert errors["datasets[2].session"] == [f"Session '{outsider_session.reference}' not found."]
    assert "Also used by datasets[0]" in errors["datasets[3].name"][0]
    assert "non-empty name" in errors["datasets[4].name"][0]
    assert errors["datasets[4].colour"] == ["Unknown field."]
    assert "not found" in errors["datasets[5].inputs[0].dataset"][0]
    assert Dataset.objects.count() == 0 and ParameterValue.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [
    ({}, "datasets"),
    ({"datasets": []}, "datasets"),
    ({"datasets": "x"}, "datasets"),
    ({"datasets": [{}], "extra": 1}, "extra"),
])
def test_malformed_bodies_are_400(api, body, field):
    response = api.post("/api/v1/ingest/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_events_fire_once_per_created_dataset(api, session, django_capture_on_commit_callbacks):
    from tests.dummy_plugin.models import Event

    with django_capture_on_commit_callbacks(execute=True):
        post(api, [item(session, "a"), item(session, "b")])
    ids = set(Dataset.objects.values_list("pk", flat=True))
    assert set(Event.objects.filter(kind="dataset_created").values_list("object_id", flat=True)) \
        == ids
