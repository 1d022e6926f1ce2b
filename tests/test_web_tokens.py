"""API tokens in the web UI: a person's own tokens, and the beamlines' service accounts that
facility staff manage. A key is shown once; only its hash is stored; revoking stops it at once."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mmcat.models import ApiToken, Person
from mmcat.models.people import hash_token
from mmcat.testing import BeamlineFactory, PersonFactory, SessionFactory

pytestmark = pytest.mark.django_db


def browser(person):
    client = Client()
    client.force_login(person)
    return client


def api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def shown_key(page: str) -> str:
    return re.search(r'id="token-key" class="key" value="([^"]+)"', page)[1]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def pi():
    return PersonFactory()


@pytest.fixture
def staff():
    return PersonFactory(role=Person.Role.STAFF)


# --- a person's own tokens ----------------------------------------------------------------------

def test_the_token_page_needs_a_sign_in(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_a_new_token_shows_its_key_once_and_stores_only_its_hash(pi):
    client = browser(pi)
    page = client.get("/account/tokens/").content.decode()
    for element in ('id="token-form"', 'id="token-name"', 'id="token-expires"',
                    'id="create-token"', "You have no token yet."):
        assert element in page
    response = client.post("/account/tokens/", {"name": "autoPROC on my laptop"})
    token = ApiToken.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/account/tokens/{token.pk}/"

    response = client.get(response["Location"])
    page = response.content.decode()
    key = shown_key(page)
    assert 'id="token-key-warning"' in page and "only time the key is shown" in page
    assert 'id="copy-token-key"' in page
    assert response["Cache-Control"] == "no-store"
    assert (token.person, token.name, token.expires_at) == (pi, "autoPROC on my laptop", None)
    assert token.key_hash == hash_token(key) and key.startswith(token.prefix)
    stored = [str(v) for v in ApiToken.objects.values_list().get()]
    assert not any(key in value for value in stored)
    assert key not in str(dict(client.session))  # gone from the session once shown

    assert api(key).get("/api/v1/sessions/").status_code == 200
    again = client.get(f"/account/tokens/{token.pk}/").content.decode()
    assert key not in again and 'id="token-key-gone"' in again

    listing = client.get("/account/tokens/").content.decode()
    assert "autoPROC on my laptop" in listing and f"{token.prefix}…" in listing
    assert key not in listing
    assert "status-active" in listing and f'id="revoke-token-{token.pk}"' in listing


def test_a_token_needs_a_name_and_an_expiry_date_in_the_future(pi):
    client = browser(pi)
    response = client.post("/account/tokens/", {"name": "  "})
    assert response.status_code == 200
    assert messages_of(response) == ["Name: This field is required."]
    assert 'aria-invalid="true"' in response.content.decode()
    today = timezone.localdate()
    for day in (today, today - timedelta(days=3)):
        response = client.post("/account/tokens/", {"name": "ci", "expires_on": day.isoformat()})
        assert messages_of(response) == ["Expiry date: The expiry date must be in the future."]
        assert 'value="ci"' in response.content.decode()  # what was typed stays
    response = client.post("/account/tokens/", {"name": "ci", "expires_on": "31/02/2030"})
    assert messages_of(response) == ["Expiry date: Enter a valid date."]
    response = client.post("/account/tokens/", {"name": "x" * 101})
    assert messages_of(response)[0].startswith("Name: Ensure this value has at most 100")
    assert not ApiToken.objects.exists()

    day = today + timedelta(days=30)
    client.post("/account/tokens/", {"name": "ci", "expires_on": day.isoformat()})
    token = ApiToken.objects.get()
    expected = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    assert token.expires_at == expected and token.is_active


def test_the_list_shows_each_tokens_state_and_use(pi):
    now = timezone.now()
    active, _ = ApiToken.issue(pi, "active one", expires_at=now + timedelta(days=3))
    expired, _ = ApiToken.issue(pi, "expired one", expires_at=now - timedelta(days=1))
    revoked, _ = ApiToken.issue(pi, "revoked one")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=now)
    ApiToken.objects.filter(pk=active.pk).update(last_used_at=now)
    ApiToken.issue(PersonFactory(), "somebody else's")
    page = browser(pi).get("/account/tokens/").content.decode()
    rows = {pk: re.search(rf'<tr id="token-{pk}".*?</tr>', page, re.S)[0]
            for pk in (active.pk, expired.pk, revoked.pk)}
    assert "Active" in rows[active.pk] and "never" not in rows[active.pk]
    assert "Expired" in rows[expired.pk] and f'id="revoke-token-{expired.pk}"' in rows[expired.pk]
    assert "Revoked" in rows[revoked.pk] and "revoke-token" not in rows[revoked.pk]
    assert "somebody else" not in page


def test_revoking_asks_first_then_stops_the_token_at_once(pi):
    client = browser(pi)
    token, key = ApiToken.issue(pi, "pipeline")
    page = client.get(f"/account/tokens/{token.pk}/revoke/").content.decode()
    assert 'id="confirm-revoke"' in page and "pipeline" in page and 'id="cancel-revoke"' in page
    assert ApiToken.objects.get().revoked_at is None  # looking does not revoke
    response = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/account/tokens/", 302)]
    assert any("is revoked" in m for m in messages_of(response))
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_active
    assert api(key).get("/api/v1/sessions/").status_code == 401
    response = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert any("revoked already" in m for m in messages_of(response))


def test_another_persons_token_is_404(pi):
    theirs, key = ApiToken.issue(PersonFactory(), "theirs")
    client = browser(pi)
    for url in (f"/account/tokens/{theirs.pk}/", f"/account/tokens/{theirs.pk}/revoke/"):
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api(key).get("/api/v1/sessions/").status_code == 200


def test_a_key_is_not_shown_to_another_browser_of_the_same_person(pi):
    client = browser(pi)
    client.post("/account/tokens/", {"name": "laptop"})
    token = ApiToken.objects.get()
    other = browser(pi).get(f"/account/tokens/{token.pk}/").content.decode()
    assert 'id="token-key"' not in other and 'id="token-key-gone"' in other
    assert 'id="token-key"' in client.get(f"/account/tokens/{token.pk}/").content.decode()


# --- service accounts ---------------------------------------------------------------------------

def test_service_accounts_are_for_facility_staff_only(pi):
    account = PersonFactory(is_service=True)
    token, _ = ApiToken.issue(account, "daq")
    local_contact = PersonFactory()
    BeamlineFactory().staff.add(local_contact, account)
    beamline = BeamlineFactory()
    for person in (pi, local_contact):
        client = browser(person)
        for url in ("/staff/service-accounts/", f"/staff/service-accounts/{account.pk}/",
                    f"/staff/service-accounts/{account.pk}/tokens/{token.pk}/",
                    f"/staff/service-accounts/{account.pk}/tokens/{token.pk}/revoke/"):
            assert client.get(url).status_code == 404
            assert client.post(url, {"username": "x", "beamline": beamline.pk,
                                     "name": "x"}).status_code == 404
    assert Person.objects.filter(is_service=True).count() == 1
    assert ApiToken.objects.count() == 1 and ApiToken.objects.active().count() == 1
    assert Client().get("/staff/service-accounts/").status_code == 302  # to the login page


def test_staff_create_a_service_account_for_a_beamline_and_issue_its_token(staff):
    beamline = BeamlineFactory(name="i04-1")
    session = SessionFactory(beamline=beamline)
    elsewhere = SessionFactory()
    client = browser(staff)
    page = client.get("/staff/service-accounts/").content.decode()
    for element in ('id="service-account-form"', 'id="service-username"',
                    'id="service-beamline"', 'id="create-service-account"',
                    "No service account yet."):
        assert element in page

    response = client.post("/staff/service-accounts/",
                           {"username": "i04-1-daq", "beamline": beamline.pk})
    account = Person.objects.get(username="i04-1-daq")
    assert response["Location"] == f"/staff/service-accounts/{account.pk}/"
    assert account.is_service and not account.has_usable_password()
    assert list(account.beamlines.all()) == [beamline]
    assert not account.sees_everything

    page = client.get(response["Location"]).content.decode()
    assert "Service account i04-1-daq" in page and "i04-1" in page
    assert 'id="token-name"' in page and 'id="create-token"' in page
    response = client.post(f"/staff/service-accounts/{account.pk}/",
                           {"name": "acquisition", "expires_on": ""})
    token = ApiToken.objects.get(person=account)
    assert response["Location"] == f"/staff/service-accounts/{account.pk}/tokens/{token.pk}/"
    page = client.get(response["Location"]).content.decode()
    key = shown_key(page)
    assert "i04-1-daq" in page and token.key_hash == hash_token(key)
    assert key not in client.get(response["Location"]).content.decode()

    # The key works for the beamline's sessions, and only those.
    pipeline = api(key)
    assert pipeline.get(f"/api/v1/sessions/{session.pk}/").status_code == 200
    assert pipeline.get(f"/api/v1/sessions/{elsewhere.pk}/").status_code == 404

    listing = client.get("/staff/service-accounts/").content.decode()
    row = re.search(rf'<tr id="service-account-{account.pk}".*?</tr>', listing, re.S)[0]
    assert "i04-1-daq" in row and "i04-1" in row and "acquisition" in row
    assert f"{token.prefix}…" in row and "Active" in row

    revoke = f"/staff/service-accounts/{account.pk}/tokens/{token.pk}/revoke/"
    page = client.get(f"/staff/service-accounts/{account.pk}/").content.decode()
    assert f'id="revoke-token-{token.pk}"' in page and f'href="{revoke}"' in page
    assert 'id="confirm-revoke"' in client.get(revoke).content.decode()
    response = client.post(revoke)
    assert response["Location"] == f"/staff/service-accounts/{account.pk}/"
    assert pipeline.get(f"/api/v1/sessions/{session.pk}/").status_code == 401


def test_a_service_username_must_be_valid_and_free(staff):
    beamline = BeamlineFactory()
    PersonFactory(username="P14-daq")
    client = browser(staff)
    response = client.post("/staff/service-accounts/",
                           {"username": "p14-DAQ", "beamline": beamline.pk})
    assert messages_of(response) == ["Username: The username “p14-DAQ” is taken."]
    response = client.post("/staff/service-accounts/",
                           {"username": "p14 daq!", "beamline": beamline.pk})
    assert messages_of(response)[0].startswith("Username: Enter a valid username.")
    response = client.post("/staff/service-accounts/", {"username": "p14-daq2"})
    assert messages_of(response) == ["Beamline: This field is required."]
    assert Person.objects.filter(is_service=True).count() == 0


def test_staff_cannot_reach_a_non_service_persons_tokens_here(staff, pi):
    token, _ = ApiToken.issue(pi, "personal")
    client = browser(staff)
    assert client.get(f"/staff/service-accounts/{pi.pk}/").status_code == 404
    assert client.post(f"/staff/service-accounts/{pi.pk}/tokens/{token.pk}/revoke/"
                       ).status_code == 404
    assert client.post(f"/staff/service-accounts/{pi.pk}/", {"name": "x"}).status_code == 404
    other = PersonFactory(is_service=True)
    assert client.post(f"/staff/service-accounts/{other.pk}/tokens/{token.pk}/revoke/"
                       ).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and ApiToken.objects.count() == 1


def test_the_service_account_list_is_constant_in_queries(staff):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/staff/service-accounts/").status_code == 200
        return len(captured)

    client = browser(staff)

    def add(n):
        for _ in range(n):
            account = PersonFactory(is_service=True)
            BeamlineFactory().staff.add(account)
            ApiToken.issue(account, "daq")

    add(2)
    few = count()
    add(10)
    assert count() == few
