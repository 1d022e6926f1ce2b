"""The admin validates parameter values like the API does; every change leaves an audit entry."""

import pytest
from auditlog.models import LogEntry
from django.test import Client

from mmcat.models import ParameterType, ParameterValue, Person
from mmcat.testing import DatasetFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(PersonFactory(role=Person.Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def change_form(dataset, value, unit=""):
    prefix = "parameters"
    return {
        "session": dataset.session_id, "technique": dataset.technique, "kind": dataset.kind,
        "name": dataset.name, "state": dataset.state, "location": "", "comments": "",
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-type": ParameterType.objects.get(key="dummy_length").pk,
        f"{prefix}-0-raw_value": value, f"{prefix}-0-unit": unit,
        "files-TOTAL_FORMS": "0", "files-INITIAL_FORMS": "0",
        "input_links-TOTAL_FORMS": "0", "input_links-INITIAL_FORMS": "0",
    }


def test_admin_rejects_a_value_out_of_range(admin_client):
    dataset = DatasetFactory()
    response = admin_client.post(f"/admin/core/dataset/{dataset.pk}/change/",
                                 change_form(dataset, "5000"))
    assert response.status_code == 200  # the form again, with the error
    assert "dummy_length: 5000 Å is above the maximum 1000 Å." in response.content.decode()
    assert not ParameterValue.objects.exists()


def test_admin_converts_a_value_given_in_another_unit(admin_client):
    dataset = DatasetFactory()
    response = admin_client.post(f"/admin/core/dataset/{dataset.pk}/change/",
                                 change_form(dataset, "0.25", unit="nm"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ParameterValue.objects.get(dataset=dataset).number == pytest.approx(2.5)


def test_api_changes_are_audited_with_their_author(member, session, client_of):
    dataset = DatasetFactory(session=session)
    response = client_of(member).patch(f"/api/v1/datasets/{dataset.pk}/",
                                       {"state": "failed"}, format="json")
    assert response.status_code == 200
    entry = LogEntry.objects.get_for_object(dataset).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == member
    assert entry.changes_dict["state"] == ["complete", "failed"]
