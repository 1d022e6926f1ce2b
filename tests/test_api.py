"""The REST API as pipelines and beamline control use it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mmcat.models import ApiToken, Dataset, DatasetLink, ParameterValue, Person, Sample
from mmcat.testing import DatasetFactory, PersonFactory, SampleFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(member, client_of):
    return client_of(member)


@pytest.fixture
def staff(client_of):
    return client_of(PersonFactory(role=Person.Role.STAFF))


def new_dataset(api, session, **fields):
    body = {"session": session.pk, "technique": "dummy", "name": "x1_1", **fields}
    return api.post("/api/v1/datasets/", body, format="json")


class TestAuthentication:
    def test_no_token_is_401(self, client):
        assert client.get("/api/v1/datasets/").status_code in (401, 403)

    def test_a_revoked_or_expired_token_is_refused(self, member, client):
        from datetime import timedelta

        from django.utils import timezone

        token, key = ApiToken.issue(member, "old")
        token.revoked_at = timezone.now()
        token.save()
        response = client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]
        _, key = ApiToken.issue(member, "expired", expires_at=timezone.now() - timedelta(1))
        assert client.get("/api/v1/datasets/",
                          HTTP_AUTHORIZATION=f"Token {key}").status_code == 401

    def test_only_the_hash_of_a_token_is_stored(self, member):
        token, key = ApiToken.issue(member, "ci")
        assert key not in (token.key_hash, token.prefix)
        assert ApiToken.objects.filter(key_hash__contains=key).count() == 0


class TestDatasets:
    def test_create_with_parameters_in_other_units(self, api, session):
        response = new_dataset(api, session, parameters={
            "dummy_length": {"value": 0.15, "unit": "nm"}, "dummy_count": 3},
            files=[{"path": "/data/x1_1_master.h5", "size": 1024, "format": "nexus"}])
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["parameters"] == {"dummy_length": pytest.approx(1.5), "dummy_count": 3}
        assert body["files"][0]["path"] == "/data/x1_1_master.h5"

    def test_bad_parameter_is_a_400_naming_it_and_writes_nothing(self, api, session):
        response = new_dataset(api, session, parameters={"dummy_length": -3, "dummy_count": 1})
        assert response.status_code == 400
        errors = response.json()["parameters"]
        assert list(errors) == ["dummy_length"]
        assert "below the minimum" in errors["dummy_length"][0]
        assert not Dataset.objects.exists() and not ParameterValue.objects.exists()

    def test_unknown_technique_and_parameter_are_named(self, api, session):
        response = new_dataset(api, session, technique="nope", parameters={"zzz": 1})
        assert response.status_code == 400
        assert "Unknown technique 'nope'" in response.json()["technique"][0]

    def test_same_name_twice_in_a_session_is_refused(self, api, session):
        assert new_dataset(api, session).status_code == 201
        response = new_dataset(api, session)
        assert response.status_code == 400
        assert "already has a dataset named 'x1_1'" in response.json()["name"][0]
        assert Dataset.objects.count() == 1

    def test_sample_of_another_proposal_is_refused(self, api, session, member):
        other = SessionFactory()
        other.proposal.members.create(person=member)
        sample = SampleFactory(proposal=other.proposal)
        response = new_dataset(api, session, sample=sample.pk)
        assert response.status_code == 400
        assert "another proposal" in response.json()["sample"][0]

    def test_end_before_start_is_refused(self, api, session):
        response = new_dataset(api, session, start_time="2026-01-02T00:00:00Z",
                               end_time="2026-01-01T00:00:00Z")
        assert response.status_code == 400 and "end_time" in response.json()

    def test_update_parameters(self, api, session):
        dataset_id = new_dataset(api, session, parameters={"dummy_count": 1}).json()["id"]
        response = api.patch(f"/api/v1/datasets/{dataset_id}/",
                             {"state": "failed", "parameters": {"dummy_count": 2}}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["parameters"] == {"dummy_count": 2}
        assert response.json()["state"] == "failed"

    def test_members_cannot_delete_datasets_but_staff_can(self, api, staff, session):
        dataset = DatasetFactory(session=session)
        assert api.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 403
        assert staff.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204


class TestParameterSearch:
    @pytest.fixture
    def datasets(self, api, session):
        rows = [("a", 1.2, "red"), ("b", 1.6, "green"), ("c", 2.5, "red")]
        for name, length, colour in rows:
            assert new_dataset(api, session, name=name, parameters={
                "dummy_length": length, "dummy_colour": colour}).status_code == 201

    def names(self, api, query):
        response = api.get(f"/api/v1/datasets/?{query}")
        assert response.status_code == 200, response.content
        return sorted(d["name"] for d in response.json()["results"])

    @pytest.mark.usefixtures("datasets")
    def test_ranges_and_equality_combine(self, api):
        assert self.names(api, "param=dummy_length__lte:1.6") == ["a", "b"]
        assert self.names(api, "param=dummy_length__lte:1.6&param=dummy_colour:red") == ["a"]
        assert self.names(api, "param=dummy_length__gt:1.2&param=dummy_length__lt:3") == \
            ["b", "c"]
        assert self.names(api, "param=dummy_colour__ne:red") == ["b"]

    @pytest.mark.usefixtures("datasets")
    def test_a_bound_may_carry_its_unit(self, api):
        assert self.names(api, "param=dummy_length__gte:0.16nm") == ["b", "c"]

    @pytest.mark.usefixtures("datasets")
    @pytest.mark.parametrize(("query", "message"), [
        ("param=dummy_length__lte:abc", "'abc' is not a number"),
        ("param=nope__lte:1", "unknown parameter 'nope'"),
        ("param=dummy_length__near:1", "unknown operator 'near'"),
        ("param=dummy_length", "expected key__op:value"),
        ("param=dummy_length__lte:1s", "cannot convert 's' to 'Å'"),
        ("param=dummy_vector:1", "not searchable"),
    ])
    def test_bad_expressions_are_400_with_the_reason(self, api, query, message):
        response = api.get(f"/api/v1/datasets/?{query}")
        assert response.status_code == 400
        assert message in " ".join(response.json()["param"])


class TestSamplesAndSessions:
    def test_member_adds_a_sample_with_a_parent(self, api, session):
        protein = api.post("/api/v1/samples/", {"proposal": session.proposal_id,
                                                "name": "lyso"}, format="json")
        assert protein.status_code == 201, protein.content
        crystal = api.post("/api/v1/samples/", {"proposal": session.proposal_id, "name": "x1",
                                                "component": "lyso",
                                                "parent": protein.json()["id"]}, format="json")
        assert crystal.status_code == 201
        assert Sample.objects.get(pk=crystal.json()["id"]).parent_id == protein.json()["id"]

    def test_bad_sample_name_is_named(self, api, session):
        response = api.post("/api/v1/samples/", {"proposal": session.proposal_id,
                                                 "name": "x 1/2"}, format="json")
        assert response.status_code == 400
        assert "letters, digits" in response.json()["name"][0]

    def test_sample_cannot_become_its_own_ancestor(self, api, session):
        a = SampleFactory(proposal=session.proposal)
        b = SampleFactory(proposal=session.proposal, parent=a)
        response = api.patch(f"/api/v1/samples/{a.pk}/", {"parent": b.pk}, format="json")
        assert response.status_code == 400
        assert "own ancestor" in response.json()["parent"][0]

    def test_deleting_a_sample_with_datasets_is_a_409(self, staff, session):
        sample = SampleFactory(proposal=session.proposal)
        DatasetFactory(session=session, sample=sample)
        response = staff.delete(f"/api/v1/samples/{sample.pk}/")
        assert response.status_code == 409 and "datasets" in response.json()["detail"]

    def test_only_staff_create_sessions(self, api, staff, session):
        body = {"proposal": session.proposal_id, "number": 99,
                "beamline": session.beamline.name,
                "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T07:00:00Z"}
        assert api.post("/api/v1/sessions/", body, format="json").status_code == 403
        response = staff.post("/api/v1/sessions/", body, format="json")
        assert response.status_code == 400
        assert "end after it starts" in response.json()["end"][0]
        body["end"] = "2026-12-02T08:00:00Z"
        response = staff.post("/api/v1/sessions/", body, format="json")
        assert response.status_code == 201
        assert response.json()["reference"] == f"{session.proposal.reference}-99"


class TestLineage:
    def test_merge_of_two_sweeps_walks_both_ways(self, api, session):
        a, b, merged = (DatasetFactory(session=session) for _ in range(3))
        for sweep in (a, b):
            response = api.post("/api/v1/links/", {"output": merged.pk, "input": sweep.pk,
                                                   "role": "sweep"}, format="json")
            assert response.status_code == 201, response.content
        graph = api.get(f"/api/v1/datasets/{a.pk}/lineage/").json()
        assert {n["id"] for n in graph["nodes"]} == {a.pk, b.pk, merged.pk}
        assert {(e["input"], e["output"]) for e in graph["edges"]} == \
            {(a.pk, merged.pk), (b.pk, merged.pk)}

    def test_the_graph_costs_the_same_queries_whatever_its_depth(self, api, session):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def chain(length):
            datasets = [DatasetFactory(session=session) for _ in range(length)]
            for first, second in zip(datasets, datasets[1:], strict=False):
                DatasetLink.objects.create(output=second, input=first)
            return datasets[0]

        api.get("/api/v1/datasets/")  # the token's first use of the day writes last_used_at
        counts = []
        for length in (2, 7):
            start = chain(length)
            with CaptureQueriesContext(connection) as captured:
                graph = api.get(f"/api/v1/datasets/{start.pk}/lineage/").json()
            assert len(graph["nodes"]) == length
            counts.append(len(captured))
        assert counts[0] == counts[1]

    def test_cycles_and_self_links_are_refused(self, api, session):
        a, b = DatasetFactory(session=session), DatasetFactory(session=session)
        DatasetLink.objects.create(output=b, input=a)
        response = api.post("/api/v1/links/", {"output": a.pk, "input": b.pk}, format="json")
        assert response.status_code == 400 and "cycle" in response.json()["input"][0]
        response = api.post("/api/v1/links/", {"output": a.pk, "input": a.pk}, format="json")
        assert response.status_code == 400


class TestJobsAndAttachments:
    def test_unknown_task_is_named(self, api, session):
        response = api.post("/api/v1/jobs/", {"session": session.pk, "task": "nope"},
                            format="json")
        assert response.status_code == 400
        assert "Unknown task 'nope'" in response.json()["task"][0]
        assert "dummy.count_parameters" in response.json()["task"][0]

    def test_upload_and_download_an_attachment(self, api, session):
        dataset = DatasetFactory(session=session)
        upload = SimpleUploadedFile("run.log", b"all fine\n")
        response = api.post("/api/v1/attachments/", {"dataset": dataset.pk, "kind": "log",
                                                      "file": upload}, format="multipart")
        assert response.status_code == 201, response.content
        download = api.get(f"/api/v1/attachments/{response.json()['id']}/download/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"all fine\n"


def test_dictionary_endpoint_lists_units_and_mmcif_items(api):
    response = api.get("/api/v1/dictionary/dummy_length/")
    assert response.status_code == 200
    assert response.json()["unit"] == "Å"
    assert response.json()["mmcif_item"] == "_dummy.length"


def test_openapi_schema_describes_the_api(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for expected in ("/api/v1/datasets/", "/api/v1/ingest/", "/api/v1/jobs/{id}/retry/",
                     "/api/v1/dummy/notes/"):
        assert expected in paths
