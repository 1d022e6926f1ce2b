"""The server-rendered pages: content a scientist relies on, and a constant number of queries
whatever the number of rows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mmcat.dictionary import set_parameters
from mmcat.models import DatasetLink
from mmcat.testing import DatasetFactory, ProposalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(member):
    client = Client()
    client.force_login(member)
    return client


def fill(session, n):
    start = session.datasets.count()
    for i in range(start, start + n):
        dataset = DatasetFactory(session=session, name=f"x{i}")
        set_parameters(dataset, {"dummy_length": 1 + i, "dummy_colour": "red"})


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_session_page_lists_datasets_with_parameters_in_constant_queries(browser, session):
    fill(session, 3)
    few, page = queries(browser, f"/sessions/{session.pk}/")
    assert "dummy_length=3 Å" in page and ">x2</a>" in page and "dummy_colour=red" in page
    fill(session, 60)
    many, page = queries(browser, f"/sessions/{session.pk}/")
    assert few == many
    assert 'Datasets (<span id="dataset-count">63</span>)' in page
    assert "Page 1 of 2" in page and page.count('<tr id="ds-') == 50


def test_proposal_list_is_constant_in_queries_and_searchable(browser, member):
    for _ in range(3):
        ProposalFactory().members.create(person=member)
    few, _ = queries(browser, "/proposals/")
    for _ in range(20):
        ProposalFactory().members.create(person=member)
    many, page = queries(browser, "/proposals/")
    assert few == many
    target = ProposalFactory(title="Bromodomain fragments")
    target.members.create(person=member)
    _, page = queries(browser, "/proposals/?q=bromodomain")
    assert target.reference in page
    assert page.count('<tr data-proposal=') == 1
    _, page = queries(browser, f"/proposals/?q={target.reference}")
    assert "Bromodomain fragments" in page


def test_dataset_page_shows_units_mmcif_names_files_and_lineage(browser, session):
    a, b = DatasetFactory(session=session), DatasetFactory(session=session)
    merged = DatasetFactory(session=session, kind="merged", name="merged")
    set_parameters(merged, {"dummy_length": {"value": 0.2, "unit": "nm"}})
    merged.files.create(path="/data/merged.mtz", size=2048)
    for sweep in (a, b):
        DatasetLink.objects.create(output=merged, input=sweep, role="sweep")
    _, page = queries(browser, f"/datasets/{a.pk}/")
    assert f'href="/datasets/{merged.pk}/"' in page and f'href="/datasets/{b.pk}/"' in page
    _, page = queries(browser, f"/datasets/{merged.pk}/")
    assert '<abbr title="_dummy.length">Length</abbr>' in page
    assert "<td>2</td><td>Å</td>" in page
    assert "/data/merged.mtz" in page and "2.0\xa0KB" in page


def test_home_shows_current_and_next_sessions(browser, session):
    _, page = queries(browser, "/")
    assert session.reference in page
    assert "Sessions on now" in page


def test_parameter_labels_and_values_are_escaped_on_list_pages(browser, session):
    from mmcat.models import ParameterType

    ParameterType.objects.filter(key="dummy_label").update(label='<script>alert("x")</script>')
    dataset = DatasetFactory(session=session)
    set_parameters(dataset, {"dummy_label": "<b>bold</b>"})
    _, page = queries(browser, f"/sessions/{session.pk}/")
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
