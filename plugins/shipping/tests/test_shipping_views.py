"""The user's shipping screens: shipment list, new shipment, shipment page (dewars, containers,
contacts, status buttons), puck editor (drawing, place/remove, queue), dewar history, and the
session and proposal panels; their permissions, query counts, error messages, and the whole
path from an empty proposal to a ready shipment through the web forms."""

from __future__ import annotations

import re
from itertools import count

import pytest
from django.apps import apps
from django.urls import NoReverseMatch, reverse

from mmcat.models import ProposalMember, Sample
from mmcat.testing import PersonFactory, SampleFactory, get_page, web_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not enabled (MMCAT_PLUGINS)"),
]


# --- builders --------------------------------------------------------------------------------

def _shipment(proposal, by, name="ship1", **kwargs):
    from mmcat_shipping import services

    return services.create_shipment(proposal, name=name, safety_level="green", by=by, **kwargs)


def _contact(proposal, name="Ada Lab"):
    from mmcat_shipping import services

    return services.create_lab_contact(
        proposal, name=name, email="ada@example.org", laboratory="Structural lab",
        address="1 Crystal Road", city="Oxford", postcode="OX1 1AA", country="UK")


_numbers = count(1)


def _filled(shipment, by, *, dewars=1, containers=3, samples=2):
    """``dewars`` dewars of ``containers`` Unipucks, each with ``samples`` samples."""
    from mmcat_shipping import services

    for d in range(dewars):
        dewar = services.add_dewar(shipment, code=f"D{d}", by=by)
        for c in range(containers):
            puck = services.add_container(dewar, code=f"P{d}-{c}", type="unipuck", by=by)
            for p in range(1, samples + 1):
                sample = SampleFactory(proposal=shipment.proposal, component="lyso",
                                       name=f"x{d}_{c}_{p}_{next(_numbers)}")
                services.place_sample(puck, p, sample)
    return shipment


@pytest.fixture
def proposal(session):
    return session.proposal


@pytest.fixture
def staff():
    return PersonFactory(role="staff")


def _outsider():
    return PersonFactory()


def _viewer(session):
    """Sees the proposal (local contact of its session) but is not a member."""
    person = PersonFactory()
    session.local_contacts.add(person)
    return person


def _url(name, *args):
    return reverse(f"shipping:{name}", args=args)


def _errors(html):
    return re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)


# --- list and new ----------------------------------------------------------------------------

def test_shipment_list_shows_the_users_shipments_only(member, proposal, staff):
    mine = _shipment(proposal, member, name="mine")
    other = _shipment(SampleFactory().proposal, None, name="theirs")
    queries, html = get_page(web_client(member), _url("shipment-list"))
    assert "mine" in html and "theirs" not in html
    assert f'data-shipment-id="{mine.pk}"' in html
    assert 'id="shipment-new"' in html and f'value="{proposal.pk}"' in html
    _, html = get_page(web_client(staff), _url("shipment-list"))
    assert f'data-shipment-id="{other.pk}"' in html and f'data-shipment-id="{mine.pk}"' in html
    _, html = get_page(web_client(_outsider()), _url("shipment-list"))
    assert "mine" not in html and 'id="shipment-new"' not in html


def test_shipment_list_query_count_is_constant(member, proposal):
    _shipment(proposal, member, name="a")
    few, _ = get_page(web_client(member), _url("shipment-list"))
    for n in range(6):
        _filled(_shipment(proposal, member, name=f"s{n}"), member, containers=1, samples=1)
    many, html = get_page(web_client(member), _url("shipment-list"))
    assert html.count("data-shipment-id=") == 7
    assert many == few


def test_new_shipment_is_for_members_and_staff(member, proposal, session, staff):
    url = _url("shipment-new") + f"?proposal={proposal.pk}"
    _, html = get_page(web_client(member), url)
    assert 'id="shipment-form"' in html and session.reference in html
    get_page(web_client(staff), url)
    assert web_client(_outsider()).get(url).status_code == 404
    assert web_client(_viewer(session)).get(url).status_code == 404
    assert web_client(member).get(_url("shipment-new") + "?proposal=abc").status_code == 404


def test_new_shipment_errors_name_the_field(member, proposal):
    from mmcat_shipping.models import Shipment

    _shipment(proposal, member, name="taken")
    response = web_client(member).post(_url("shipment-new") + f"?proposal={proposal.pk}",
                                       {"name": "taken", "safety_level": "green"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "already has a shipment called" in html
    assert 'aria-invalid="true"' in html and 'id="id_name_error"' in html
    assert Shipment.objects.filter(proposal=proposal).count() == 1


# --- the shipment page -----------------------------------------------------------------------

def test_shipment_page_content_and_permissions(member, proposal, session, staff):
    shipment = _filled(_shipment(proposal, member, sessions=[session]), member)
    url = _url("shipment-detail", shipment.pk)
    _, html = get_page(web_client(member), url)
    assert "Shipment ship1" in html and 'id="shipment-status"' in html
    assert "Safety green" in html and session.reference in html
    dewar = shipment.dewars.get()
    assert dewar.barcode in html and html.count("data-container-id=") == 3
    assert "2 / 16" in html
    for selector in ('id="dewar-form"', 'id="contact-form"', 'id="shipment-edit-form"',
                     'id="shipment-delete"', f'id="dewar-{dewar.pk}-to-labels_printed"'):
        assert selector in html, selector
    assert 'id="contacts-missing"' in html
    # the other helpers' pages, linked by URL name
    assert _url("shipment-labels", shipment.pk) in html
    assert _url("shipment-contents", shipment.pk) in html
    assert _url("shipment-import", shipment.pk) in html
    # staff edit too; a viewer who is not a member only sees; outsiders get 404
    _, html = get_page(web_client(staff), url)
    assert 'id="dewar-form"' in html
    viewer = web_client(_viewer(session))
    _, html = get_page(viewer, url)
    assert dewar.barcode in html and 'id="dewar-form"' not in html
    assert 'id="shipment-transitions"' not in html
    assert viewer.post(_url("dewar-add", shipment.pk), {"dewar-code": "X"}).status_code == 403
    outsider = web_client(_outsider())
    assert outsider.get(url).status_code == 404
    for name, args in [("dewar-add", {"dewar-code": "X"}), ("shipment-status", {"to": "ready"}),
                       ("shipment-delete", {}), ("shipment-edit", {"name": "y"}),
                       ("contact-add", {})]:
        assert outsider.post(_url(name, shipment.pk), args).status_code == 404, name
    for name in ("dewar-edit", "dewar-delete", "dewar-status", "container-add",
                 "dewar-history"):
        assert outsider.post(_url(name, dewar.pk)).status_code == 404, name
    assert shipment.dewars.count() == 1


def test_shipment_page_query_count_is_constant(member, proposal, session):
    small = _filled(_shipment(proposal, member, name="small", sessions=[session]), member,
                    dewars=1, containers=3)
    large = _filled(_shipment(proposal, member, name="large", sessions=[session]), member,
                    dewars=5, containers=3)
    client = web_client(member)
    few, _ = get_page(client, _url("shipment-detail", small.pk))
    many, html = get_page(client, _url("shipment-detail", large.pk))
    assert html.count("data-container-id=") == 15
    assert many == few, (few, many)
    assert few <= 20


def test_add_dewar_and_container_errors_are_shown_next_to_the_field(member, proposal):
    shipment = _shipment(proposal, member)
    client = web_client(member)
    response = client.post(_url("dewar-add", shipment.pk), {"dewar-code": "D1"},
                           HTTP_HX_REQUEST="true", follow=True)
    assert response.status_code == 200 and "Dewar D1 added" in response.content.decode()
    dewar = shipment.dewars.get()
    html = client.post(_url("dewar-add", shipment.pk),
                       {"dewar-code": "D1", "dewar-weight": "-3"}).content.decode()
    assert "already has a dewar called" in html or "weight" in html.lower()
    assert 'id="id_dewar-code_error"' in html or 'id="id_dewar-weight_error"' in html
    assert shipment.dewars.count() == 1
    # a container of type other needs its capacity; a Unipuck has 16, not 12
    prefix = f"container-{dewar.pk}"
    html = client.post(_url("container-add", dewar.pk),
                       {f"{prefix}-code": "P1", f"{prefix}-type": "other"}).content.decode()
    assert f'id="id_{prefix}-capacity_error"' in html
    html = client.post(_url("container-add", dewar.pk),
                       {f"{prefix}-code": "P1", f"{prefix}-type": "unipuck",
                        f"{prefix}-capacity": "12"}).content.decode()
    assert "16 positions, not 12" in html
    assert dewar.containers.count() == 0
    client.post(_url("container-add", dewar.pk),
                {f"{prefix}-code": "P1", f"{prefix}-type": "spine"})
    assert dewar.containers.get().capacity == 10


def test_lab_contact_inline_becomes_the_shipments_contacts(member, proposal):
    shipment = _shipment(proposal, member)
    data = {"contact-name": "Ada", "contact-email": "ada@example.org",
            "contact-laboratory": "Lab", "contact-address": "1 Road", "contact-city": "Oxford",
            "contact-postcode": "OX1", "contact-country": "UK"}
    response = web_client(member).post(_url("contact-add", shipment.pk), data)
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.sending_contact.name == "Ada" and shipment.return_contact.name == "Ada"
    html = web_client(member).post(_url("contact-add", shipment.pk),
                                   {**data, "contact-email": "nope"}).content.decode()
    assert 'id="id_contact-email_error"' in html
    assert proposal.lab_contacts.count() == 1


def test_edit_shipment_safety_refused_while_a_container_is_queued(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    services.add_container(dewar, code="P1", queue_for_unattended=True, by=member)
    html = web_client(member).post(_url("shipment-edit", shipment.pk),
                                   {"name": "ship1", "safety_level": "red"}).content.decode()
    assert 'id="id_safety_level_error"' in html and "unattended" in html
    shipment.refresh_from_db()
    assert shipment.safety_level == "green"


# --- the puck editor -------------------------------------------------------------------------

def test_puck_page_draws_the_positions(member, proposal, session, staff):
    shipment = _filled(_shipment(proposal, member), member, containers=1, samples=3)
    puck = shipment.dewars.get().containers.get()
    url = _url("container-detail", puck.pk)
    _, html = get_page(web_client(member), url)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('data-state="filled"') == 3 and svg.count('data-state="empty"') == 13
    assert "<title" in svg and 'aria-label="Position 1: lyso-x0_0_1_' in svg
    assert 'href="?position=4"' in svg
    assert 'id="place-form"' in html and 'id="queue-toggle"' in html
    assert _url("container-paste", puck.pk) in html
    # the form offers the first free position
    assert re.search(r'name="position"[^>]*value="4"', html)
    _, html = get_page(web_client(member), url + "?position=2")
    assert 'id="remove-selected"' in html and "lyso-x0_0_2_" in html
    get_page(web_client(staff), url)
    _, html = get_page(web_client(_viewer(session)), url)
    assert "<svg" in html and 'id="place-form"' not in html
    assert web_client(_outsider()).get(url).status_code == 404
    for name in ("container-place", "container-remove", "container-queue", "container-edit",
                 "container-delete"):
        assert web_client(_outsider()).post(_url(name, puck.pk)).status_code == 404, name


def test_plate_and_spine_drawings(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    plate = services.add_container(dewar, code="PL", type="plate", by=member)
    spine = services.add_container(dewar, code="SP", type="spine", by=member)
    other = services.add_container(dewar, code="OT", type="other", capacity=5, by=member)
    services.place_sample(plate, 13, SampleFactory(proposal=proposal))
    _, html = get_page(web_client(member), _url("container-detail", plate.pk))
    assert html.count("data-position=") >= 96 * 2 and 'aria-label="Position B1: lyso-' in html
    _, html = get_page(web_client(member), _url("container-detail", spine.pk))
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count("data-position=") == 10
    _, html = get_page(web_client(member), _url("container-detail", other.pk))
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count("data-position=") == 5


def test_puck_page_query_count_is_constant(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    few_puck = services.add_container(dewar, code="P1", by=member)
    many_puck = services.add_container(dewar, code="P2", by=member)
    services.place_sample(few_puck, 1, SampleFactory(proposal=proposal))
    for p in range(1, 16):
        services.place_sample(many_puck, p, SampleFactory(proposal=proposal))
    client = web_client(member)
    few, _ = get_page(client, _url("container-detail", few_puck.pk))
    many, html = get_page(client, _url("container-detail", many_puck.pk))
    assert html.count('data-state="filled"') == 15
    assert many == few, (few, many)
    assert few <= 15


def test_place_sample_validation(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    puck = services.add_container(dewar, code="P1", by=member)
    client = web_client(member)
    url = _url("container-place", puck.pk)
    before = Sample.objects.count()
    cases = [
        ({"position": "1", "acronym": "lyso", "name": "bad name!"}, "name",
         "letters, digits"),
        ({"position": "1", "acronym": "lyso", "name": "x" * 26}, "name", "at most 25"),
        ({"position": "1", "acronym": "ly so", "name": "x1"}, "acronym", "letters, digits"),
        ({"position": "17", "acronym": "lyso", "name": "x1"}, "position", "16"),
        ({"position": "1"}, "acronym", "protein acronym"),
    ]
    for data, field, text in cases:
        html = client.post(url, data).content.decode()
        errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
        assert errors and text in errors.group(1), (data, _errors(html))
    assert Sample.objects.count() == before
    # a good one, then the same protein-sample again is refused
    response = client.post(url, {"position": "1", "acronym": "lyso", "name": "x1"})
    assert response.status_code == 302
    html = client.post(url, {"position": "2", "acronym": "lyso", "name": "x1"}).content.decode()
    assert "already has a sample lyso-x1" in html
    # an occupied position with a new sample: refused, and the sample is not created
    html = client.post(url, {"position": "1", "acronym": "lyso", "name": "x2"}).content.decode()
    assert 'id="id_position_error"' in html and "already holds" in html
    assert not Sample.objects.filter(name="x2").exists()
    # an existing sample of the proposal (not yet placed), by choice
    existing = SampleFactory(proposal=proposal, component="ins", name="i1")
    foreign = SampleFactory(component="ins", name="i2")
    response = client.post(url, {"position": "3", "sample": str(existing.pk)})
    assert response.status_code == 302
    html = client.post(url, {"position": "4", "sample": str(foreign.pk)}).content.decode()
    assert 'id="id_sample_error"' in html
    assert puck.positions.count() == 2
    # remove
    client.post(_url("container-remove", puck.pk), {"position": "3"})
    assert list(puck.positions.values_list("position", flat=True)) == [1]


def test_queue_toggle(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    puck = services.add_container(services.add_dewar(shipment, code="D1", by=member),
                                  code="P1", by=member)
    client = web_client(member)
    client.post(_url("container-queue", puck.pk), {"queue": "on"})
    puck.refresh_from_db()
    assert puck.queue_for_unattended
    _, html = get_page(client, _url("container-detail", puck.pk))
    assert 'id="container-queued"' in html and 'aria-pressed="true"' in html
    client.post(_url("container-queue", puck.pk), {"queue": "off"})
    puck.refresh_from_db()
    assert not puck.queue_for_unattended
    services.update_shipment(shipment, safety_level="yellow", by=member)
    response = client.post(_url("container-queue", puck.pk), {"queue": "on"}, follow=True)
    assert "green samples only" in response.content.decode()
    puck.refresh_from_db()
    assert not puck.queue_for_unattended


# --- the whole path through the web forms -----------------------------------------------------

def test_empty_proposal_to_ready_through_the_web_forms(member, proposal, session):
    """New shipment → lab contact → dewar → puck → samples → labels printed → ready."""
    from mmcat_shipping.models import Shipment

    client = web_client(member)
    htmx = {"HTTP_HX_REQUEST": "true"}
    response = client.post(_url("shipment-new") + f"?proposal={proposal.pk}",
                           {"name": "June trip", "safety_level": "green",
                            "sessions": [session.pk]})
    shipment = Shipment.objects.get(proposal=proposal, name="June trip")
    assert response.url == _url("shipment-detail", shipment.pk)
    assert list(shipment.sessions.all()) == [session]
    client.post(_url("contact-add", shipment.pk), {
        "contact-name": "Ada", "contact-email": "ada@example.org", "contact-laboratory": "Lab",
        "contact-address": "1 Road", "contact-city": "Oxford", "contact-postcode": "OX1",
        "contact-country": "UK"}, **htmx)
    client.post(_url("dewar-add", shipment.pk), {"dewar-code": "Dewar-1",
                                                 "dewar-weight": "12.5"}, **htmx)
    dewar = shipment.dewars.get()
    prefix = f"container-{dewar.pk}"
    client.post(_url("container-add", dewar.pk), {f"{prefix}-code": "Puck-A",
                                                  f"{prefix}-type": "unipuck"}, **htmx)
    puck = dewar.containers.get()
    for position in (1, 2, 3):
        response = client.post(_url("container-place", puck.pk),
                               {"position": str(position), "acronym": "lyso",
                                "name": f"x{position:02d}"}, follow=True, **htmx)
        assert response.status_code == 200
    assert "3 of 16" in response.content.decode()
    _, html = get_page(client, _url("shipment-detail", shipment.pk))
    assert "3 / 16" in html and 'id="contacts-missing"' not in html
    # print the labels (the documents' view moves the dewars to labels printed)
    labels = client.get(_url("shipment-labels", shipment.pk))
    assert labels.status_code == 200 and labels["Content-Type"] == "application/pdf"
    dewar.refresh_from_db()
    assert dewar.status == "labels_printed"
    _, html = get_page(client, _url("shipment-detail", shipment.pk))
    assert 'id="shipment-to-ready"' in html
    response = client.post(_url("shipment-status", shipment.pk), {"to": "ready"}, follow=True,
                           **htmx)
    assert "Shipment June trip: ready to send" in response.content.decode()
    shipment.refresh_from_db()
    dewar.refresh_from_db()
    assert shipment.status == "ready" and dewar.status == "ready"
    _, html = get_page(client, _url("shipment-detail", shipment.pk))
    assert 'id="shipment-to-sent"' in html
    _, html = get_page(client, _url("dewar-history", dewar.pk))
    assert html.index('data-status="ready"') < html.index('data-status="labels_printed"')


def test_refused_transition_shows_the_reason(member, proposal):
    from mmcat_shipping import services

    shipment = _shipment(proposal, member)
    dewar = services.add_dewar(shipment, code="D1", by=member)
    _, html = get_page(web_client(member), _url("shipment-detail", shipment.pk))
    assert 'id="shipment-to-ready"' not in html and "Add a container" in html
    response = web_client(member).post(_url("dewar-status", dewar.pk), {"to": "ready"},
                                       follow=True)
    assert response.status_code == 200 and "cannot go from opened to ready" in \
        response.content.decode()
    response = web_client(member).post(_url("shipment-status", shipment.pk), {"to": "bogus"},
                                       follow=True)
    assert "Unknown shipment status" in response.content.decode()


def test_edits_refused_after_sending(member, proposal):
    from mmcat_shipping import states
    from mmcat_shipping.models import SamplePosition

    shipment = _filled(_shipment(proposal, member), member, containers=1, samples=1)
    dewar = shipment.dewars.get()
    puck = dewar.containers.get()
    states.change_dewar_status(dewar, "labels_printed", by=member)
    states.change_shipment_status(shipment, "ready", by=member)
    states.change_shipment_status(shipment, "sent", by=member)
    client = web_client(member)
    _, html = get_page(client, _url("shipment-detail", shipment.pk))
    for hidden in ('id="dewar-form"', 'id="shipment-delete"', 'id="shipment-edit-form"',
                   "container-form"):
        assert hidden not in html, hidden
    assert 'id="shipment-locked"' in html
    _, html = get_page(client, _url("container-detail", puck.pk))
    assert 'id="place-form"' not in html and 'id="container-locked"' in html
    # the server refuses what the page hides
    html = client.post(_url("dewar-add", shipment.pk), {"dewar-code": "D9"}).content.decode()
    assert "can no longer change" in html
    html = client.post(_url("container-place", puck.pk),
                       {"position": "5", "acronym": "lyso", "name": "late"}).content.decode()
    assert "can no longer change" in html
    assert not Sample.objects.filter(name="late").exists()
    client.post(_url("container-remove", puck.pk), {"position": "1"})
    client.post(_url("dewar-delete", dewar.pk))
    client.post(_url("container-delete", puck.pk))
    response = client.post(_url("shipment-delete", shipment.pk), follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert SamplePosition.objects.filter(container=puck).count() == 1
    assert shipment.dewars.count() == 1


def test_delete_shipment_before_sending(member, proposal):
    from mmcat_shipping.models import Shipment

    shipment = _filled(_shipment(proposal, member), member, containers=1, samples=1)
    response = web_client(member).post(_url("shipment-delete", shipment.pk))
    assert response.url == _url("shipment-list")
    assert not Shipment.objects.filter(pk=shipment.pk).exists()
    assert Sample.objects.filter(proposal=proposal).count() == 1  # samples stay


# --- dewar history ---------------------------------------------------------------------------

def test_dewar_history(member, proposal, session, staff):
    from mmcat_shipping import states

    shipment = _filled(_shipment(proposal, member), member, containers=1, samples=1)
    dewar = shipment.dewars.get()
    states.change_dewar_status(dewar, "labels_printed", by=member, location="lab",
                               comment="printed")
    url = _url("dewar-history", dewar.pk)
    queries, html = get_page(web_client(member), url)
    assert 'id="dewar-timeline"' in html and "<title" in html
    rows = re.findall(r'<tr data-event-id="(\d+)"', html)
    assert len(rows) == dewar.events.count() >= 2
    assert rows == [str(pk) for pk in dewar.events.order_by("-at", "-id")
                    .values_list("pk", flat=True)]
    assert "printed" in html and str(member) in html
    get_page(web_client(staff), url)
    get_page(web_client(_viewer(session)), url)
    assert web_client(_outsider()).get(url).status_code == 404
    for _ in range(5):
        states.change_dewar_status(dewar, "opened", by=member)
        states.change_dewar_status(dewar, "labels_printed", by=member)
    many, _ = get_page(web_client(member), url)
    assert many == queries


# --- panels and menu -------------------------------------------------------------------------

def test_session_panel_on_the_core_session_page(member, proposal, session, staff):
    shipment = _filled(_shipment(proposal, member, sessions=[session]), member, containers=2,
                       samples=1)
    _shipment(proposal, member, name="not-for-this-session")
    panel_url = _url("session-panel", session.pk)
    _, page = get_page(web_client(member), reverse("session-detail", args=[session.pk]))
    assert panel_url in page and "Shipments and dewars" in page
    few, html = get_page(web_client(member), panel_url)
    assert "<html" not in html and shipment.name in html
    assert "not-for-this-session" not in html
    dewar = shipment.dewars.get()
    assert dewar.barcode in html and html.count("data-container-id=") == 2
    assert _url("container-detail", dewar.containers.first().pk) in html
    get_page(web_client(staff), panel_url)
    get_page(web_client(_viewer(session)), panel_url)
    assert web_client(_outsider()).get(panel_url).status_code == 404
    _filled(_shipment(proposal, member, name="second", sessions=[session]), member, dewars=3,
            containers=3, samples=1)
    many, html = get_page(web_client(member), panel_url)
    assert html.count("data-container-id=") == 11
    assert many == few


def test_proposal_panel_and_menu(member, proposal, session):
    _shipment(proposal, member, name="visible-one")
    panel_url = _url("proposal-panel", proposal.pk)
    _, page = get_page(web_client(member), reverse("proposal-detail", args=[proposal.pk]))
    assert panel_url in page
    assert f'href="{_url("shipment-list")}"' in page  # the menu entry
    _, html = get_page(web_client(member), panel_url)
    assert "visible-one" in html and 'id="shipping-new-link"' in html
    _, html = get_page(web_client(_viewer(session)), panel_url)
    assert "visible-one" in html and 'id="shipping-new-link"' not in html
    assert web_client(_outsider()).get(panel_url).status_code == 404


def test_pages_need_a_login(member, proposal):
    shipment = _shipment(proposal, member)
    for url in (_url("shipment-list"), _url("shipment-detail", shipment.pk)):
        response = web_client(member).__class__().get(url)
        assert response.status_code == 302 and "login" in response.url


def test_url_names_of_the_other_helpers_exist():
    for name, args in [("shipment-import", [1]), ("shipment-labels", [1]),
                       ("shipment-contents", [1]), ("container-paste", [1])]:
        try:
            reverse(f"shipping:{name}", args=args)
        except NoReverseMatch:  # pragma: no cover
            pytest.fail(f"shipping:{name} is missing")


def test_member_helper_is_a_member(member, proposal):
    assert ProposalMember.objects.filter(proposal=proposal, person=member).exists()
