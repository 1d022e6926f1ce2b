"""The search page: text, technique, kind and parameter ranges in any unit, over the datasets the
user may see; bad input is a message naming the row and field, never a 500."""

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mmcat.dictionary import set_parameters
from mmcat.models import Person
from mmcat.testing import DatasetFactory, PersonFactory, SampleFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(member):
    client = Client()
    client.force_login(member)
    return client


def search(client, status=200, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/search/?" + urlencode(params))
    assert response.status_code == status, response.content.decode()[-2000:]
    return len(captured), response.content.decode()


def names(page):
    """The dataset names of the result table, in order."""
    return re.findall(r'<tr data-dataset="\d+"><td><a href="/datasets/\d+/">([^<]+)</a>', page)


@pytest.fixture
def data(session):
    proposal = session.proposal
    proposal.title = "Bromodomain Fragments"
    proposal.save()
    sample = SampleFactory(proposal=proposal, component="brd4", name="xtal7")
    made = {}
    for name, length, kind in (("short", 1.5, "raw"), ("middle", 20, "raw"),
                               ("long", 300, "processed")):
        made[name] = DatasetFactory(session=session, name=name, kind=kind,
                                    sample=sample if name == "middle" else None)
        set_parameters(made[name], {"dummy_length": length, "dummy_count": 3,
                                    "dummy_colour": "red"})
    hidden = DatasetFactory(session=SessionFactory(), name="middle-of-someone-else")
    set_parameters(hidden, {"dummy_length": 20})
    return made


def test_text_search_matches_names_samples_references_and_titles(browser, data, session):
    assert names(search(browser, q="MIDDLE")[1]) == ["middle"]
    assert names(search(browser, q="xtal7")[1]) == ["middle"]
    assert names(search(browser, q="brd4-xtal7")[1]) == ["middle"]
    assert sorted(names(search(browser, q="bromodomain")[1])) == ["long", "middle", "short"]
    assert len(names(search(browser, q=session.proposal.reference)[1])) == 3
    assert len(names(search(browser, q=session.reference.upper())[1])) == 3
    assert names(search(browser, q=f"{session.proposal.reference}-999")[1]) == []
    assert names(search(browser, q="mx99999999999999-99999999999")[1]) == []  # no overflow


def test_search_never_shows_datasets_the_user_may_not_see(data):
    outsider = Client()
    outsider.force_login(PersonFactory())
    _, page = search(outsider, q="middle")
    assert names(page) == [] and "0 datasets" in page
    staff = Client()
    staff.force_login(PersonFactory(role=Person.Role.STAFF))
    assert sorted(names(search(staff, q="middle")[1])) == ["middle", "middle-of-someone-else"]


def test_parameter_ranges_with_units(browser, data):
    _, page = search(browser, p1="dummy_length", min1="10", max1="100")
    assert names(page) == ["middle"]
    # the same range in nanometres; an open upper bound; a second row narrows further
    _, page = search(browser, p1="dummy_length", min1="1", max1="10", unit1="nm")
    assert names(page) == ["middle"]
    _, page = search(browser, p1="dummy_length", min1="1.5")
    assert sorted(names(page)) == ["long", "middle", "short"]
    _, page = search(browser, p1="dummy_length", min1="1.5", p2="dummy_count", max2="3",
                     kind="processed")
    assert names(page) == ["long"]
    # the searched parameter is shown first in the row's key parameters
    assert '<span title="Length" data-param="dummy_length">dummy_length=300 Å</span>' in page


def test_technique_and_kind_filters(browser, data, session):
    DatasetFactory(session=session, name="other-technique", technique="mx")
    _, page = search(browser, technique="dummy", kind="raw")
    assert sorted(names(page)) == ["middle", "short"]
    assert 'value="dummy" selected' in page


@pytest.mark.parametrize(("params", "message"), [
    ({"p1": "dummy_length", "min1": "abc"},
     "Parameter range 1, minimum: &#x27;abc&#x27; is not a number."),
    ({"p1": "dummy_length", "max1": "nan"},
     "Parameter range 1, maximum: &#x27;nan&#x27; is not a number."),
    ({"p1": "dummy_length", "min1": "1", "unit1": "bananas"},
     "Parameter range 1, unit: unknown unit &#x27;bananas&#x27;"),
    ({"p1": "dummy_length", "min1": "1", "unit1": "s"},
     "Parameter range 1, unit: cannot convert &#x27;s&#x27; to &#x27;Å&#x27;"),
    ({"p1": "dummy_count", "min1": "1", "unit1": "mm"},
     "Parameter range 1, unit: Count has no unit"),
    ({"p1": "dummy_length", "min1": "5", "max1": "2"},
     "Parameter range 1, maximum: the maximum 2 is below the minimum 5."),
    ({"p1": "dummy_length", "p2": "no_such_thing", "min2": "1"},
     "Parameter range 1, minimum: give a minimum, a maximum or both."),
    ({"p2": "no_such_thing", "min2": "1"},
     "Parameter range 1, parameter: &#x27;no_such_thing&#x27; is not a searchable number"),
    ({"p1": "dummy_vector", "min1": "1"},
     "Parameter range 1, parameter: &#x27;dummy_vector&#x27; is not a searchable number"),
    ({"p1": "dummy_label", "min1": "1"},
     "Parameter range 1, parameter: &#x27;dummy_label&#x27; is not a searchable number"),
    ({"min3": "1"}, "Parameter range 1, parameter: choose a parameter."),
])
def test_bad_input_names_the_row_and_field(browser, data, params, message):
    _, page = search(browser, status=400, **params)
    assert message in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert 'id="result-table"' not in page
    # the form keeps what was typed, renumbered from 1
    for value in params.values():
        assert f'value="{value}"' in page or f'value="{value}" selected' in page


def test_results_are_paged_and_the_pager_keeps_the_search(browser, session):
    for i in range(60):
        set_parameters(DatasetFactory(session=session, name=f"run{i:02d}"), {"dummy_length": i})
    _, page = search(browser, q="run", p1="dummy_length", min1="5")
    assert "55 datasets" in page and len(names(page)) == 50
    assert 'href="?q=run&amp;p1=dummy_length&amp;min1=5&amp;page=2"' in page
    _, page = search(browser, q="run", p1="dummy_length", min1="5", page="2")
    assert len(names(page)) == 5


def test_constant_queries_for_few_and_many_results(browser, session):
    def fill(n):
        for _ in range(n):
            dataset = DatasetFactory(session=session, sample=SampleFactory(
                proposal=session.proposal))
            set_parameters(dataset, {"dummy_length": 7, "dummy_count": 1, "dummy_colour": "red"})

    fill(2)
    params = {"q": "data", "p1": "dummy_length", "min1": "0.1", "unit1": "nm", "kind": "raw"}
    few, page = search(browser, **params)
    few_all, _ = search(browser)
    assert len(names(page)) == 2
    fill(70)
    many, page = search(browser, **params)
    many_all, _ = search(browser)
    assert len(names(page)) == 50
    assert (few, few_all) == (many, many_all)


def test_another_row_comes_with_the_next_add_button(browser):
    response = browser.get("/search/row/3/")
    page = response.content.decode()
    assert 'name="p3"' in page and 'name="min3"' in page and 'name="unit3"' in page
    assert 'id="search-add-row" hx-swap-oob="true"' in page
    assert 'hx-get="/search/row/4/"' in page
    # without htmx the same button asks for one more blank row
    _, page = search(browser, more="1")
    assert 'name="p2"' in page and 'hx-get="/search/row/3/"' in page


def test_search_needs_a_sign_in():
    response = Client().get("/search/?q=x")
    assert response.status_code == 302 and "/login/" in response["Location"]
