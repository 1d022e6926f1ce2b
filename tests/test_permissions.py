"""Who sees what: every object endpoint and page × every role. Outsiders get 404, never 403."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mmcat.models import Attachment, Datafile, DatasetLink, Person, ProcessingJob
from mmcat.testing import (
    BeamlineFactory,
    DatasetFactory,
    PersonFactory,
    SampleFactory,
    SessionFactory,
    token_client,
)
from tests.dummy_plugin.models import Note

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """One session with one of everything, and a person for each role."""
    session = SessionFactory()
    sample = SampleFactory(proposal=session.proposal)
    raw = DatasetFactory(session=session, sample=sample)
    merged = DatasetFactory(session=session, kind="merged")
    link = DatasetLink.objects.create(output=merged, input=raw, role="sweep")
    datafile = Datafile.objects.create(dataset=raw, path="/data/raw_1.cbf")
    job = ProcessingJob.objects.create(session=session, task="dummy.count_parameters")
    attachment = Attachment.objects.create(session=session, dataset=raw, name="log.txt",
                                           file=SimpleUploadedFile("log.txt", b"log"))
    note = Note.objects.create(dataset=raw, text="note")
    member = PersonFactory()
    session.proposal.members.create(person=member, role="member")
    local_contact = PersonFactory()
    session.beamline.staff.add(local_contact)
    service = PersonFactory(is_service=True)
    session.beamline.staff.add(service)
    other_beamline_contact = PersonFactory()
    BeamlineFactory().staff.add(other_beamline_contact)
    session_only = PersonFactory()
    session.local_contacts.add(session_only)
    return {
        "objects": {
            "proposals": session.proposal, "sessions": session, "samples": sample,
            "datasets": raw, "datafiles": datafile, "links": link, "jobs": job,
            "attachments": attachment, "dummy/notes": note,
        },
        "roles": {
            "pi": session.proposal.pi,
            "member": member,
            "staff": PersonFactory(role=Person.Role.STAFF),
            "admin": PersonFactory(role=Person.Role.ADMIN),
            "beamline staff": local_contact,
            "beamline service account": service,
            "session local contact": session_only,
            "outsider": PersonFactory(),
            "other beamline staff": other_beamline_contact,
            "member of another proposal": SessionFactory().proposal.pi,
        },
    }


SEES = {"pi", "member", "staff", "admin", "beamline staff", "beamline service account",
        "session local contact"}
ROLES = sorted(SEES | {"outsider", "other beamline staff", "member of another proposal"})
ENDPOINTS = ["proposals", "sessions", "samples", "datasets", "datafiles", "links", "jobs",
             "attachments", "dummy/notes"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_api_detail_and_list(world, role, endpoint):
    obj = world["objects"][endpoint]
    api = token_client(world["roles"][role])
    detail = api.get(f"/api/v1/{endpoint}/{obj.pk}/")
    listed = {row["id"] for row in api.get(f"/api/v1/{endpoint}/").json()["results"]}
    if role in SEES:
        assert detail.status_code == 200
        assert obj.pk in listed
    else:
        assert detail.status_code == 404
        assert obj.pk not in listed


@pytest.mark.parametrize("role", ROLES)
def test_api_actions_on_objects(world, role):
    api = token_client(world["roles"][role])
    dataset, attachment = world["objects"]["datasets"], world["objects"]["attachments"]
    lineage = api.get(f"/api/v1/datasets/{dataset.pk}/lineage/")
    download = api.get(f"/api/v1/attachments/{attachment.pk}/download/")
    patch = api.patch(f"/api/v1/datasets/{dataset.pk}/", {"comments": "x"}, format="json")
    expected = 200 if role in SEES else 404
    assert (lineage.status_code, download.status_code, patch.status_code) == (expected,) * 3


@pytest.mark.parametrize("role", ROLES)
def test_outsiders_cannot_write_into_a_session_they_cannot_see(world, role):
    api = token_client(world["roles"][role])
    session = world["objects"]["sessions"]
    response = api.post("/api/v1/ingest/", {"datasets": [
        {"session": session.pk, "technique": "dummy", "name": f"new-{role}"}]}, format="json")
    if role in SEES:
        assert response.status_code == 201
    else:
        assert response.status_code == 400
        assert "not found" in response.json()["datasets[0].session"][0]


@pytest.mark.parametrize("role", ROLES)
def test_pages_and_plugin_panels(world, role):
    client = Client()
    client.force_login(world["roles"][role])
    objects = world["objects"]
    urls = [
        f"/proposals/{objects['proposals'].pk}/",
        f"/sessions/{objects['sessions'].pk}/",
        f"/datasets/{objects['datasets'].pk}/",
        f"/dummy/sessions/{objects['sessions'].pk}/panel/",
        f"/dummy/datasets/{objects['datasets'].pk}/panel/",
        f"/dummy/proposals/{objects['proposals'].pk}/panel/",
        f"/samples/{objects['samples'].pk}/",
        f"/dummy/samples/{objects['samples'].pk}/panel/",
    ]
    expected = 200 if role in SEES else 404
    assert [client.get(url).status_code for url in urls] == [expected] * len(urls)


def test_pages_need_a_sign_in(world):
    response = Client().get(f"/sessions/{world['objects']['sessions'].pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
