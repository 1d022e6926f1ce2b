"""Session pages: the list, the calendar, a session's datasets (filters, paging, CSV, live
updates). Behaviour a beamline scientist relies on during a shift, with constant query counts."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mmcat.dictionary import set_parameters, sync_parameter_types
from mmcat.models import Person, SessionMember
from mmcat.testing import (
    BeamlineFactory,
    DatasetFactory,
    PersonFactory,
    SampleFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def dictionary():
    sync_parameter_types()


@pytest.fixture
def browser(member):
    client = Client()
    client.force_login(member)
    return client


def login(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def get(client, url, status=200):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, response.content[:2000]
    return len(captured), response


def text(response) -> str:
    return response.content.decode()


def fill(session, n, **fields):
    start = session.datasets.count()
    made = []
    for i in range(start, start + n):
        dataset = DatasetFactory(session=session, name=f"x{i}",
                                 start_time=session.start + timedelta(minutes=i), **fields)
        set_parameters(dataset, {"dummy_length": 1 + i, "dummy_colour": "red",
                                 "dummy_count": i, "dummy_vector": [1, 2]})
        made.append(dataset)
    return made


def rows(page: str) -> list[str]:
    """Dataset names in table order."""
    return re.findall(r'<tr id="ds-\d+"[^>]*><th scope="row"><a href="[^"]+">([^<]+)</a>', page)


# --- list ------------------------------------------------------------------------------------

def test_list_shows_only_visible_sessions_with_filters_and_constant_queries(member):
    now = timezone.now()
    mine = [SessionFactory(start=now - timedelta(days=d), end=now - timedelta(days=d) +
                           timedelta(hours=8)) for d in (30, 20)]
    current = SessionFactory(start=now - timedelta(hours=1), end=now + timedelta(hours=5))
    upcoming = SessionFactory(start=now + timedelta(days=3), end=now + timedelta(days=4))
    for s in (*mine, current, upcoming):
        s.proposal.members.create(person=member)
    hidden = SessionFactory()
    DatasetFactory(session=current)
    browser = login(member)
    few, response = get(browser, "/sessions/")
    page = text(response)
    assert all(s.reference in page for s in (*mine, current, upcoming))
    assert hidden.reference not in page
    assert "4 sessions" in page
    _, response = get(browser, "/sessions/?when=current")
    assert current.reference in text(response) and upcoming.reference not in text(response)
    assert "Running now" in text(response)
    _, response = get(browser, "/sessions/?when=upcoming")
    assert upcoming.reference in text(response) and current.reference not in text(response)
    _, response = get(browser, "/sessions/?when=past")
    assert mine[0].reference in text(response) and current.reference not in text(response)
    _, response = get(browser, f"/sessions/?beamline={current.beamline.name}")
    assert current.reference in text(response) and mine[0].reference not in text(response)
    for _ in range(55):
        SessionFactory().proposal.members.create(person=member)
    many, response = get(browser, "/sessions/")
    assert few == many
    assert "Page 1 of 2" in text(response)
    # the pager keeps the filters
    _, response = get(browser, "/sessions/?when=current&page=1")
    assert 'href="?when=current&amp;page=2"' in text(response)


def test_list_ignores_bad_filter_values(browser, session):
    _, response = get(browser, "/sessions/?when=nonsense&page=abc&beamline=" + "x" * 300)
    assert "No session matches these filters" in text(response)


# --- calendar --------------------------------------------------------------------------------

def test_calendar_month_grid_per_user_and_per_beamline(member):
    beamline = BeamlineFactory(name="i04-1")
    start = timezone.now().replace(year=2031, month=3, day=10, hour=9, minute=0)
    mine = SessionFactory(beamline=beamline, start=start, end=start + timedelta(days=2))
    mine.proposal.members.create(person=member)
    theirs = SessionFactory(beamline=beamline, start=start + timedelta(days=5),
                            end=start + timedelta(days=5, hours=8))
    browser = login(member)
    _, response = get(browser, "/sessions/calendar/?month=2031-03")
    page = text(response)
    assert "March 2031" in page
    link = f'href="/sessions/{mine.pk}/"'
    assert page.count(link) == 3  # 10, 11 and 12 March
    assert 'data-date="2031-03-10"' in page
    assert theirs.reference not in page  # not the member's session, not visible either
    assert 'href="?month=2031-02"' in page and 'href="?month=2031-04"' in page
    # December wraps to January of the next year
    _, response = get(browser, "/sessions/calendar/?month=2031-12")
    assert 'href="?month=2032-01"' in text(response) and 'href="?month=2031-11"' in text(response)
    # staff: their own calendar is empty, the beamline's shows every session on it
    staff = login(PersonFactory(role=Person.Role.STAFF))
    _, response = get(staff, "/sessions/calendar/?month=2031-03")
    assert mine.reference not in text(response) and 'id="calendar-empty"' in text(response)
    few, response = get(staff, "/sessions/calendar/?month=2031-03&beamline=i04-1")
    assert f'href="/sessions/{theirs.pk}/"' in text(response) and mine.reference in text(response)
    for day in range(12):
        SessionFactory(beamline=beamline, start=start + timedelta(days=day, hours=12),
                       end=start + timedelta(days=day, hours=14))
    many, _ = get(staff, "/sessions/calendar/?month=2031-03&beamline=i04-1")
    assert few == many


def test_calendar_survives_bad_month(browser):
    for value in ("abc", "2031-13", "0-1", "99999-01"):
        get(browser, f"/sessions/calendar/?month={value}")


# --- session page ----------------------------------------------------------------------------

def test_session_header_shows_proposal_beamline_contacts_and_team(browser, session, member):
    contact = PersonFactory(first_name="Dana", last_name="Keller")
    session.local_contacts.add(contact)
    SessionMember.objects.create(session=session, person=member, role="data collector")
    _, response = get(browser, f"/sessions/{session.pk}/")
    page = text(response)
    assert session.proposal.reference in page and session.proposal.title in page
    assert session.beamline.name in page
    assert "Dana Keller" in page and "data collector" in page and str(member) in page
    assert "Running now" in page
    assert "Dummy session panel" in page  # the plugin panel, loaded lazily


def test_session_page_constant_queries_newest_first_with_units(browser, session):
    fill(session, 5)
    few, response = get(browser, f"/sessions/{session.pk}/")
    page = text(response)
    assert rows(page) == ["x4", "x3", "x2", "x1", "x0"]
    assert '<span title="Length (_dummy.length)" data-key="dummy_length">dummy_length=5 Å</span>' \
        in page
    assert "dummy_vector" not in page.split('id="datasets-body"')[1]  # vectors stay on the
    fill(session, 55)  # dataset page
    many, response = get(browser, f"/sessions/{session.pk}/")
    assert few == many
    assert rows(text(response))[0] == "x59" and len(rows(text(response))) == 50


def test_dataset_filters_technique_kind_state(browser, session):
    fill(session, 2)
    DatasetFactory(session=session, name="merged-one", kind="merged", state="running")
    DatasetFactory(session=session, name="other-tech", technique="mx")
    url = f"/sessions/{session.pk}/"
    assert rows(text(get(browser, url + "?kind=merged")[1])) == ["merged-one"]
    assert rows(text(get(browser, url + "?state=running")[1])) == ["merged-one"]
    assert rows(text(get(browser, url + "?technique=mx")[1])) == ["other-tech"]
    assert set(rows(text(get(browser, url + "?technique=dummy&kind=raw")[1]))) == {"x0", "x1"}


def test_parameter_range_with_units_and_pager_keeping_filters(browser, session):
    fill(session, 70)  # dummy_length 1..70 Å
    url = f"/sessions/{session.pk}/"
    # 0.5 nm = 5 Å to 6 nm = 60 Å
    _, response = get(browser, url + "?param=dummy_length&min=0.5&max=6&unit=nm")
    page = text(response)
    assert 'Datasets (<span id="dataset-count">56</span>)' in page
    assert 'name="min" value="0.5"' in page
    assert "page=2" in page and "param=dummy_length" in page.split('rel="next"')[0][-300:]
    # two rows, the second on an integer parameter; min only
    _, response = get(browser, url + "?param=dummy_length&min=10&max=&unit="
                      "&param=dummy_count&min=&max=12&unit=")
    assert rows(text(response)) == ["x12", "x11", "x10", "x9"]


@pytest.mark.parametrize(("query", "message"), [
    ("param=dummy_length&min=abc&max=&unit=", "Minimum: &#x27;dummy_length__gte:abc&#x27;: "
                                              "&#x27;abc&#x27; is not a number."),
    ("param=dummy_length&min=1&max=&unit=wibbles", "unknown unit"),
    ("param=dummy_length&min=1&max=&unit=s", "cannot convert"),
    ("param=dummy_length&min=&max=&unit=nm", "give at least one of them"),
    ("param=&min=3&max=&unit=", "Parameter: choose the parameter"),
    ("param=no_such_key&min=3&max=&unit=", "unknown parameter"),
    ("param=dummy_vector&min=3&max=&unit=", "not searchable"),
    ("kind=huge", "Kind: &#x27;huge&#x27; is not one of"),
    ("state=sleepy", "State: &#x27;sleepy&#x27; is not one of"),
])
def test_bad_filters_show_their_message_next_to_the_filter(browser, session, query, message):
    fill(session, 2)
    _, response = get(browser, f"/sessions/{session.pk}/?{query}")
    page = text(response)
    assert message in page
    assert 'id="filters-not-applied"' in page and 'aria-invalid="true"' in page
    assert 'id="datasets-csv"' not in page  # no export of a list the user did not ask for
    _, response = get(browser, f"/sessions/{session.pk}/datasets.csv?{query}", status=400)


def test_range_message_is_next_to_its_own_row(browser, session):
    _, response = get(browser, f"/sessions/{session.pk}/?param=dummy_length&min=1&max=&unit="
                               "&param=dummy_count&min=x&max=&unit=")
    page = text(response)
    first, second = page.split('data-range-row="2"')
    assert "is not a number" not in first.split('data-range-row="1"')[1]
    assert "is not a number" in second.split('data-range-row="3"')[0]


# --- CSV -------------------------------------------------------------------------------------

def test_csv_export_has_one_column_per_parameter_and_follows_filters(browser, session):
    sample = SampleFactory(proposal=session.proposal, name="xtal1")
    fill(session, 3, sample=sample)
    bare = DatasetFactory(session=session, name="bare", kind="merged")
    response = browser.get(f"/sessions/{session.pk}/datasets.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f"{session.reference}-datasets.csv" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["name"] for r in table] == ["bare", "x2", "x1", "x0"]
    assert set(table[0]) >= {"id", "name", "sample", "dummy_length", "dummy_colour",
                             "dummy_count", "dummy_vector"}
    assert table[1]["dummy_length"] == "3.0" and table[1]["sample"] == "lyso-xtal1"
    assert table[1]["dummy_vector"] == "1.0 2.0" and table[0]["dummy_length"] == ""
    assert table[0]["id"] == str(bare.pk)
    response = browser.get(f"/sessions/{session.pk}/datasets.csv?param=dummy_length&min=2"
                           "&max=&unit=&kind=raw")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["name"] for r in table] == ["x2", "x1"]


def test_csv_of_a_session_without_parameters(browser, session):
    DatasetFactory(session=session, name="only")
    response = browser.get(f"/sessions/{session.pk}/datasets.csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].endswith("location") and len(lines) == 2


# --- live mode -------------------------------------------------------------------------------

def live_query(response) -> tuple[str, str]:
    """What htmx would send: the polling URL and the inputs it includes."""
    page = text(response)
    url = re.search(r'id="live"[^>]*hx-get="([^"]+)"', page)[1].replace("&amp;", "&")
    body = page.split('id="datasets-body"')[1].split("</tbody>")[0]
    values = [f"row={v}" for v in re.findall(r'name="row" value="([^"]+)"', body)]
    values.append("newest=" + re.search(r'id="live-newest" name="newest" value="(\d+)"', page)[1])
    return url, "&".join(values)


def poll(client, response):
    url, values = live_query(response)
    joiner = "&" if "?" in url else "?"
    return get(client, f"{url}{joiner}{values}")


def test_active_session_polls_once_every_5s_and_inactive_does_not(browser, session, member):
    _, response = get(browser, f"/sessions/{session.pk}/")
    page = text(response)
    assert page.count('hx-trigger="every 5s') == 1
    assert 'id="live-pause"' in page and ">Live<" in page
    past = SessionFactory(start=timezone.now() - timedelta(days=3),
                          end=timezone.now() - timedelta(days=2))
    past.proposal.members.create(person=member)
    _, response = get(browser, f"/sessions/{past.pk}/")
    assert "hx-trigger" not in text(response).split("<main")[1].replace(
        'hx-trigger="load"', "")  # only the lazy plugin panels
    assert 'id="live"' not in text(response)


def test_live_update_swaps_changed_cells_and_prepends_new_rows(browser, session):
    datasets = fill(session, 3)
    _, response = get(browser, f"/sessions/{session.pk}/")
    _, answer = poll(browser, response)
    assert "hx-swap-oob" in text(answer) and "ds-" not in text(answer).replace(
        "#datasets-body", "")  # nothing changed: no cell, no row
    # one dataset changes state, one gets a new parameter value, one dataset is new
    datasets[0].state = "failed"
    datasets[0].save()
    set_parameters(datasets[1], {"dummy_length": 99})
    new = DatasetFactory(session=session, name="fresh")
    _, answer = poll(browser, response)
    body = text(answer)
    assert f'<td id="ds-{datasets[0].pk}-state" class="ds-state" data-state="failed" ' \
           'hx-swap-oob="true">' in body
    assert f'id="ds-{datasets[1].pk}-params"' in body and "dummy_length=99 Å" in body
    assert f'id="ds-{datasets[2].pk}-' not in body
    assert '<tbody hx-swap-oob="afterbegin:#datasets-body">' in body
    assert f'<tr id="ds-{new.pk}" class="ds-row ds-new"' in body
    assert f'id="live-newest" name="newest" value="{new.pk}"' in body
    assert '<span id="dataset-count" hx-swap-oob="true">4</span>' in body
    assert "1 new dataset at the top" in body and "2 updated" in body


def test_live_new_rows_respect_the_filters(browser, session):
    fill(session, 2)
    _, response = get(browser, f"/sessions/{session.pk}/?kind=merged")
    raw = DatasetFactory(session=session, name="new-raw")
    merged = DatasetFactory(session=session, name="new-merged", kind="merged")
    _, answer = poll(browser, response)
    assert f'id="ds-{merged.pk}"' in text(answer) and f'id="ds-{raw.pk}"' not in text(answer)


def test_live_on_a_later_page_announces_instead_of_prepending(browser, session):
    fill(session, 55)
    _, response = get(browser, f"/sessions/{session.pk}/?page=2")
    DatasetFactory(session=session, name="fresh")
    _, answer = poll(browser, response)
    assert "afterbegin" not in text(answer)
    assert "1 new dataset on the" in text(answer) and "first page" in text(answer)


def test_live_update_is_one_request_in_constant_queries(browser, session):
    fill(session, 5)
    _, response = get(browser, f"/sessions/{session.pk}/")
    for d in session.datasets.all():
        d.state = "running"
        d.save()
    DatasetFactory(session=session, name="fresh")
    few, _ = poll(browser, response)
    fill(session, 55)
    _, response = get(browser, f"/sessions/{session.pk}/")
    for d in session.datasets.all():
        d.state = "failed"
        d.save()
    for i in range(20):
        DatasetFactory(session=session, name=f"fresh{i}")
    many, answer = poll(browser, response)
    assert few == many
    assert text(answer).count("hx-swap-oob=\"true\">") >= 100  # 50 rows × 2 cells


def test_live_stops_when_the_session_is_over(browser, session):
    _, response = get(browser, f"/sessions/{session.pk}/")
    session.end = timezone.now() - timedelta(minutes=1)
    session.start = session.end - timedelta(hours=3)
    session.save()
    url, values = live_query(response)
    answer = browser.get(f"{url}&{values}" if "?" in url else f"{url}?{values}")
    assert answer.status_code == 286  # htmx stops polling
    assert "Session ended" in answer.content.decode()


# --- permissions -----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "live/", "datasets.csv"])
def test_session_pages_member_200_outsider_404(session, member, suffix):
    url = f"/sessions/{session.pk}/{suffix}"
    assert login(member).get(url).status_code == 200
    assert login(PersonFactory()).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # sign in first


def test_list_and_calendar_need_a_sign_in():
    for url in ("/sessions/", "/sessions/calendar/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
