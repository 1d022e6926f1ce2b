"""The home page, the proposal pages and the management of a proposal's members."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mmcat.models import Person, ProposalMember
from mmcat.testing import (
    DatasetFactory,
    PersonFactory,
    ProposalFactory,
    SampleFactory,
    SessionFactory,
    get_page,
    web_client,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


browser = web_client
get = get_page


def in_hours(hours):
    return timezone.now() + timedelta(hours=hours)


# --- home ------------------------------------------------------------------------------------


def add_sessions(proposal, n, beamline=None):
    extra = {"beamline": beamline} if beamline else {}
    for i in range(n):
        SessionFactory(proposal=proposal, start=in_hours(-1), end=in_hours(5), **extra)
        SessionFactory(proposal=proposal, start=in_hours(24 * (i + 1)),
                       end=in_hours(24 * (i + 1) + 8), **extra)
        past = SessionFactory(proposal=proposal, start=in_hours(-48 - i), end=in_hours(-40 - i),
                              **extra)
        past.local_contacts.add(PersonFactory(), PersonFactory())
        DatasetFactory(session=past, sample=SampleFactory(proposal=proposal))


def test_home_shows_the_users_sessions_datasets_and_widgets_in_constant_queries(member):
    proposal = ProposalFactory(title="Kinase screening")
    proposal.members.create(person=member, role="member")
    add_sessions(proposal, 1)
    client = browser(member)
    few, page = get(client, "/")
    assert "Kinase screening" in page
    assert 'id="home-current-table"' in page and 'id="home-upcoming-table"' in page
    assert 'id="home-recent-table"' in page and 'id="home-datasets-table"' in page
    assert 'hx-get="/dummy/widget/"' in page  # the plugin widget, loaded lazily
    assert 'id="home-staff"' not in page
    add_sessions(proposal, 12)
    many, page = get(client, "/")
    assert few == many
    assert page.count("<tr data-session=") == 3 * 8  # current, next and recent: 8 rows each
    assert page.count("<tr data-dataset=") == 8


def test_home_does_not_show_other_peoples_sessions(member):
    other = SessionFactory(proposal=ProposalFactory(title="Not yours"))
    DatasetFactory(session=other, name="secret-dataset")
    staff = PersonFactory(role=Person.Role.STAFF)
    for person in (member, staff):  # facility staff see their own sessions here
        _, page = get(browser(person), "/")
        assert "Not yours" not in page and "secret-dataset" not in page
        assert "None of your sessions is running now." in page
    proposal = ProposalFactory()
    SessionFactory(proposal=proposal).beamline.staff.add(member)
    _, page = get(browser(member), "/")
    assert 'id="home-staff" href="/staff/"' in page or 'href="/staff/" id="home-staff"' in page


# --- proposal list ---------------------------------------------------------------------------


def test_proposal_list_shows_role_filters_by_state_and_pages_keep_the_search(member):
    for i in range(55):
        ProposalFactory(title=f"Lysozyme batch {i}").members.create(person=member, role="coi")
    closed = ProposalFactory(title="Old lysozyme", state="closed")
    closed.members.create(person=member)
    client = browser(member)
    _, page = get(client, "/proposals/?q=lysozyme")
    assert "56 proposals" in page and "Co-investigator" in page
    assert 'href="?q=lysozyme&amp;page=2"' in page
    _, page = get(client, "/proposals/?q=lysozyme&state=closed")
    assert page.count("<tr data-proposal=") == 1 and "Old lysozyme" in page


# --- proposal page ---------------------------------------------------------------------------


def fill_proposal(proposal, n):
    for _ in range(n):
        proposal.members.create(person=PersonFactory(), role="member")
        SampleFactory(proposal=proposal)
    add_sessions(proposal, n)


def test_proposal_page_lists_members_sessions_samples_datasets_in_constant_queries(member):
    proposal = ProposalFactory()
    proposal.members.create(person=member, role="coi")
    fill_proposal(proposal, 2)
    client = browser(member)
    few, page = get(client, f"/proposals/{proposal.pk}/")
    assert "Principal investigator" in page and "Co-investigator" in page
    assert 'hx-get="/dummy/proposals/' in page  # the plugin panel
    sample = proposal.samples.first()
    assert f'href="/samples/{sample.pk}/"' in page
    fill_proposal(proposal, 30)
    many, page = get(client, f"/proposals/{proposal.pk}/")
    assert few == many
    assert "Sessions (96)" in page and page.count("<tr data-session=") == 50
    assert 'href="?sessions=2"' in page and 'href="?samples=2"' in page
    assert page.count("<tr data-dataset=") == 10
    assert f'href="/search/?q={proposal.reference}"' in page
    # the second page of samples keeps the page of sessions
    _, page = get(client, f"/proposals/{proposal.pk}/?sessions=2&samples=2")
    assert page.count("<tr data-session=") == 46
    assert 'href="?sessions=2&amp;samples=1"' in page


def test_proposal_and_sample_pages_are_404_for_outsiders(member):
    proposal = ProposalFactory()
    proposal.members.create(person=member)
    sample = SampleFactory(proposal=proposal)
    outsider = browser(PersonFactory())
    insider = browser(member)
    for url in (f"/proposals/{proposal.pk}/", f"/samples/{sample.pk}/"):
        assert insider.get(url).status_code == 200
        assert outsider.get(url).status_code == 404


# --- members ---------------------------------------------------------------------------------


@pytest.fixture
def proposal(member):
    proposal = ProposalFactory()
    proposal.members.create(person=member, role="member")
    return proposal


def members(proposal):
    return dict(proposal.members.values_list("person__username", "role"))


def test_a_member_sees_members_read_only_and_cannot_change_them(proposal, member):
    client = browser(member)
    _, page = get(client, f"/proposals/{proposal.pk}/")
    assert 'data-manage="false"' in page
    assert 'id="member-add"' not in page and "Remove" not in page
    before = members(proposal)
    other = PersonFactory()
    target = proposal.members.get(person=member)
    posts = [
        (f"/proposals/{proposal.pk}/members/", {"person": other.username, "role": "member"}),
        (f"/proposals/{proposal.pk}/members/{target.pk}/role/", {"role": "coi"}),
        (f"/proposals/{proposal.pk}/members/{target.pk}/remove/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data, **HTMX).status_code == 404
        assert browser(PersonFactory()).post(url, data).status_code == 404  # an outsider
    assert members(proposal) == before


def test_the_pi_adds_a_member_by_username_or_email_with_htmx(proposal):
    client = browser(proposal.pi)
    alice = PersonFactory(username="alice", email="Alice.Smith@Example.org")
    bob = PersonFactory(username="bob")
    url = f"/proposals/{proposal.pk}/members/"
    response = client.post(url, {"person": "alice.smith@example.org", "role": "coi"}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and page.strip().startswith('<section id="members"')
    assert f"Added {alice} as Co-investigator." in page
    assert 'value=""' in page  # the add form is empty again
    response = client.post(url, {"person": "BOB", "role": "member"}, **HTMX)
    assert members(proposal)["alice"] == "coi" and members(proposal)["bob"] == "member"
    assert f'data-member="{bob.username}"' in response.content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"person": "nobody", "role": "member"}, "Username or email: No one has the username"),
    ({"person": "", "role": "member"}, "Username or email: This field is required."),
    ({"person": "carol", "role": "pi"}, "Role: Select a valid choice."),
    ({"person": "carol", "role": "boss"}, "Role: Select a valid choice."),
    ({"person": "robot", "role": "member"}, "Username or email: robot is a service account"),
    ({"person": "shared@example.org", "role": "member"}, "Several people have this email"),
])
def test_adding_a_member_rejects_bad_input_naming_the_field(proposal, data, message):
    PersonFactory(username="carol")
    PersonFactory(username="robot", is_service=True)
    PersonFactory(email="shared@example.org")
    PersonFactory(email="SHARED@example.org")
    before = members(proposal)
    response = browser(proposal.pi).post(f"/proposals/{proposal.pk}/members/", data, **HTMX)
    page = response.content.decode()
    assert message in page
    assert 'aria-invalid="true"' in page
    assert members(proposal) == before


def test_adding_someone_already_a_member_is_refused(proposal, member):
    response = browser(proposal.pi).post(
        f"/proposals/{proposal.pk}/members/", {"person": member.username, "role": "coi"}, **HTMX)
    assert "is already a member (Member)" in response.content.decode()
    assert members(proposal)[member.username] == "member"


def test_the_pi_changes_a_role_and_removes_a_member(proposal, member):
    client = browser(proposal.pi)
    row = proposal.members.get(person=member)
    response = client.post(f"/proposals/{proposal.pk}/members/{row.pk}/role/", {"role": "coi"},
                           **HTMX)
    assert f"{member} is now Co-investigator." in response.content.decode()
    assert members(proposal)[member.username] == "coi"
    response = client.post(f"/proposals/{proposal.pk}/members/{row.pk}/remove/", **HTMX)
    assert f"Removed {member}." in response.content.decode()
    assert member.username not in members(proposal)


def test_the_pi_is_never_removed_nor_demoted(proposal):
    staff = browser(PersonFactory(role=Person.Role.STAFF))
    pi_row = proposal.members.get(person=proposal.pi)
    base = f"/proposals/{proposal.pk}/members/{pi_row.pk}"
    response = staff.post(f"{base}/remove/", **HTMX)
    assert "is the proposal&#x27;s PI and cannot be removed" in response.content.decode()
    response = staff.post(f"{base}/role/", {"role": "member"}, **HTMX)
    assert "Role: " in response.content.decode()
    assert "keeps the PI role" in response.content.decode()
    assert members(proposal)[proposal.pi.username] == "pi"


def test_a_second_pi_manages_and_the_last_pi_stays(proposal, member):
    second = PersonFactory()
    second_row = proposal.members.create(person=second, role="pi")
    client = browser(second)
    _, page = get(client, f"/proposals/{proposal.pk}/")
    assert 'data-manage="true"' in page and 'id="member-add"' in page
    # with the proposal's PI missing from the members, the second PI is the last one
    proposal.members.filter(person=proposal.pi).delete()
    response = browser(PersonFactory(role=Person.Role.ADMIN)).post(
        f"/proposals/{proposal.pk}/members/{second_row.pk}/remove/", **HTMX)
    assert "is the last PI of this proposal and cannot be removed" in response.content.decode()
    assert members(proposal)[second.username] == "pi"


def test_without_javascript_the_forms_post_and_redirect(proposal):
    client = browser(proposal.pi)
    carol = PersonFactory(username="carol")
    url = f"/proposals/{proposal.pk}/members/"
    response = client.post(url, {"person": "carol", "role": "member"})
    assert response.status_code == 302
    assert response["Location"] == f"/proposals/{proposal.pk}/#members"
    assert members(proposal)["carol"] == "member"
    page = client.get(response["Location"]).content.decode()
    assert f"Added {carol} as Member." in page
    response = client.post(url, {"person": "nobody", "role": "member"})
    assert response.status_code == 400
    assert "Username or email: No one has the username" in response.content.decode()
    assert "<h1" in response.content.decode()  # the whole page, with the error in place


def test_a_pi_who_removes_themselves_goes_to_the_proposal_list():
    proposal = ProposalFactory()
    second = PersonFactory()
    row = proposal.members.create(person=second, role="pi")
    response = browser(second).post(f"/proposals/{proposal.pk}/members/{row.pk}/remove/",
                                    **HTMX)
    assert response.status_code == 204 and response["HX-Redirect"] == "/proposals/"
    assert not ProposalMember.objects.filter(pk=row.pk).exists()


def test_member_actions_are_post_only(proposal):
    assert browser(proposal.pi).get(f"/proposals/{proposal.pk}/members/").status_code == 405
