"""Sign-in: local accounts (login, logout, password reset by e-mail, lockout after repeated
failures) and OpenID Connect against a fake provider that speaks real HTTP on 127.0.0.1."""

import re
import subprocess
import sys
from datetime import timedelta
from urllib.error import HTTPError
from urllib.parse import parse_qsl, urlsplit
from urllib.request import HTTPRedirectHandler, ProxyHandler, build_opener

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client, RequestFactory
from django.utils import timezone

from mmcat.models import Person
from mmcat.testing import PersonFactory, SessionFactory, token_client
from mmcat.web.accounts import client_ip
from tests.fake_oidc import FakeOIDCProvider

pytestmark = pytest.mark.django_db
PASSWORD = "secret-pass-123"  # PersonFactory's


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def signed_in_as(client):
    pk = client.session.get(SESSION_KEY)
    return Person.objects.get(pk=pk) if pk else None


# --- local accounts -----------------------------------------------------------------------------

def test_login_page_has_labelled_fields_a_reset_link_and_no_sso_button_by_default(client):
    page = client.get("/login/").content.decode()
    for element in ('id="login-form"', 'id="id_username"', 'id="id_password"',
                    'id="login-submit"', 'for="id_username"', 'for="id_password"',
                    'autocomplete="current-password"', 'href="/password-reset/"'):
        assert element in page
    assert "csrfmiddlewaretoken" in page
    assert 'id="oidc-login"' not in page


def test_sign_in_goes_to_next_and_sign_out_needs_a_post(client):
    person = PersonFactory()
    response = client.post("/login/", {"username": person.username, "password": PASSWORD,
                                       "next": "/proposals/"})
    assert response.status_code == 302 and response["Location"] == "/proposals/"
    assert signed_in_as(client) == person
    page = client.get("/").content.decode()
    assert 'action="/logout/"' in page and 'method="post"' in page
    assert client.get("/logout/").status_code == 405
    assert signed_in_as(client) == person
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_as(client) is None


def test_a_wrong_password_says_so_on_the_login_page(client):
    person = PersonFactory()
    response = sign_in(client, person.username, "wrong")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert signed_in_as(client) is None


def test_every_form_needs_the_csrf_token_and_htmx_sends_it():
    person = PersonFactory()
    strict = Client(enforce_csrf_checks=True)
    assert sign_in(strict, person.username).status_code == 403
    page = strict.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = strict.post("/login/", {"username": person.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    home = strict.get("/").content.decode()
    assert re.search(r"""hx-headers='\{"X-CSRFToken": "[^"]+"\}'""", home)
    assert strict.post("/logout/").status_code == 403  # no token: still signed in
    assert strict.post("/account/tokens/", {"name": "x"}).status_code == 403


def test_password_reset_by_email_sets_a_new_password_with_a_one_time_link(client):
    person = PersonFactory(email="ada@example.org")
    page = client.get("/password-reset/").content.decode()
    assert 'id="id_email"' in page and 'id="password-reset-submit"' in page
    response = client.post("/password-reset/", {"email": "ADA@example.org"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "mmCAT: choose a new password"
    assert person.username in message.body and "24 hours" in message.body
    assert "If you did not ask for this, ignore this e-mail" in message.body
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", message.body)[1]

    form_url = client.get(link)["Location"]  # Django swaps the token for "set-password"
    page = client.get(form_url).content.decode()
    assert "Choose a new password" in page and person.username in page
    response = client.post(form_url, {"new_password1": "Larch-Tundra-91",
                                      "new_password2": "Larch-Tundra-91"})
    assert response["Location"] == "/password-reset/complete/"
    assert "Your password is changed" in client.get(response["Location"]).content.decode()
    person.refresh_from_db()
    assert person.check_password("Larch-Tundra-91")
    page = Client().get(link, follow=True).content.decode()
    assert "This link does not work" in page  # once only


def test_password_reset_tells_nothing_and_mails_nobody_without_a_usable_password(client):
    sso_only = PersonFactory(email="sso@example.org")
    sso_only.set_unusable_password()
    sso_only.save()
    PersonFactory(email="svc@example.org", is_service=True, password=None)
    for email in ("nobody@example.org", "sso@example.org", "svc@example.org"):
        response = client.post("/password-reset/", {"email": email})
        assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def lock(client, username, limit=5):
    for attempt in range(1, limit + 1):
        response = sign_in(client, username, f"wrong-{attempt}")
        assert response.status_code == (429 if attempt == limit else 200)
    return response


def test_five_failures_lock_that_username_from_that_address_for_15_minutes(client):
    person = PersonFactory()
    response = lock(client, person.username)
    page = response.content.decode()
    assert 'id="login-locked"' in page and "locked for 15 minutes" in page
    assert 'id="login-form"' in page  # still the login page, with the reason on it
    response = sign_in(client, person.username)  # the right password does not help now
    assert response.status_code == 429 and signed_in_as(client) is None

    other_address = sign_in(Client(), person.username, REMOTE_ADDR="10.1.2.3")
    assert other_address.status_code == 302  # username + address, not the username alone
    assert sign_in(Client(), PersonFactory().username).status_code == 302  # nor the address

    # API tokens never go through the sign-in: a locked user's pipeline keeps working.
    api = token_client(person)
    assert api.get("/api/v1/sessions/").status_code == 200

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, person.username)
    assert response.status_code == 302 and signed_in_as(client) == person


def test_the_lockout_limit_and_duration_are_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    person = PersonFactory()
    response = lock(client, person.username, limit=2)
    assert "locked for 3 minutes" in response.content.decode()


def test_a_password_reset_lifts_the_lockout(client):
    person = PersonFactory(email="locked@example.org")
    lock(client, person.username)
    client.post("/password-reset/", {"email": "locked@example.org"})
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mail.outbox[0].body)[1]
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": "Larch-Tundra-91", "new_password2": "Larch-Tundra-91"})
    assert sign_in(client, person.username, "Larch-Tundra-91").status_code == 302


def test_the_client_address_behind_trusted_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5",
                                   HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")
    assert client_ip(request) == "10.0.0.5"  # no proxy trusted: the peer
    settings.MMCAT_PROXY_COUNT = 1
    assert client_ip(request) == "192.0.2.7"  # what the proxy saw, not what the client wrote
    settings.MMCAT_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"
    settings.MMCAT_PROXY_COUNT = 3
    assert client_ip(request) == "10.0.0.5"  # fewer entries than proxies: not trusted


def run_settings(env, tmp_path, code):
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MMCAT_DEBUG": "1",
            "MMCAT_PLUGINS": ""}
    return subprocess.run([sys.executable, "-m", "mmcat.cli", "shell", "-c", code],
                          env={**base, **env}, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_lockout_and_oidc_come_from_the_environment(tmp_path):
    code = ("from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, "
            "int(s.AXES_COOLOFF_TIME.total_seconds()), s.OIDC_PROVIDER_NAME.replace(' ', '_'), "
            "s.OIDC_RP_SIGN_ALGO, s.AUTHENTICATION_BACKENDS[0])")
    result = run_settings({"AXES_FAILURE_LIMIT": "3", "AXES_COOLOFF_MINUTES": "30",
                           "OIDC_PROVIDER_NAME": "Facility SSO"}, tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["3", "1800", "Facility_SSO", "RS256",
                                     "axes.backends.AxesStandaloneBackend"]
    result = run_settings({"OIDC_RP_CLIENT_ID": "mmcat"}, tmp_path, code)
    assert result.returncode != 0
    assert "OpenID Connect is half configured: set OIDC_RP_CLIENT_SECRET" in result.stderr


# --- OpenID Connect -----------------------------------------------------------------------------

@pytest.fixture
def provider(settings, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeOIDCProvider(client_id="mmcat-web", client_secret="s3cret") as provider:
        for name, value in provider.settings().items():
            setattr(settings, name, value)
        settings.OIDC_PROVIDER_NAME = "Facility SSO"
        yield provider


def at_provider(url):
    """Open the provider's authorize URL over real HTTP; return where it redirects."""
    class Stay(HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = build_opener(ProxyHandler({}), Stay)
    try:
        response = opener.open(url, timeout=10)
    except HTTPError as answer:
        assert answer.code == 302, answer.read()
        return answer.headers["Location"]
    raise AssertionError(f"the provider answered {response.status}, not a redirect")


def sso_sign_in(client, provider, next_url=None):
    start = "/oidc/authenticate/" + (f"?next={next_url}" if next_url else "")
    response = client.get(start)
    assert response.status_code == 302
    assert response["Location"].startswith(provider.url("/authorize?"))
    query = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert query["scope"] == "openid email profile" and query["code_challenge_method"] == "S256"
    callback = urlsplit(at_provider(response["Location"]))
    assert (callback.scheme, callback.netloc, callback.path) == ("http", "testserver",
                                                                 "/oidc/callback/")
    return client.get(callback.path, dict(parse_qsl(callback.query)))


def test_oidc_is_off_until_configured(client):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert 'id="oidc-login"' not in client.get("/login/").content.decode()


def test_the_login_page_offers_the_provider_when_configured(client, provider):
    page = client.get("/login/?next=/proposals/").content.decode()
    assert 'id="oidc-login"' in page and "Sign in with Facility SSO" in page
    assert 'href="/oidc/authenticate/?next=%2Fproposals%2F"' in page
    assert 'id="login-form"' in page  # local accounts still sign in with a password


def test_oidc_sign_in_creates_the_person_once_and_updates_them_later(client, provider):
    response = sso_sign_in(client, provider, next_url="/proposals/")
    assert response.status_code == 302 and response["Location"] == "/proposals/"
    person = signed_in_as(client)
    assert person.external_id == provider.user["sub"]
    assert (person.username, person.first_name, person.last_name, person.email) == (
        "ada", "Ada", "Lovelace", "ada@facility.example")
    assert not person.has_usable_password()
    assert [r for r in provider.requests if r[0] == "POST"] == [("POST", "/token")]
    assert ("GET", "/jwks") in provider.requests and ("GET", "/userinfo") in provider.requests
    assert client.get("/").status_code == 200

    client.post("/logout/")
    provider.user.update(family_name="King", email="ada.king@facility.example",
                         preferred_username="ada.king")
    response = sso_sign_in(client, provider)
    assert response.status_code == 302 and response["Location"] == "/"
    again = signed_in_as(client)
    assert again.pk == person.pk and Person.objects.count() == 1
    assert (again.username, again.last_name, again.email) == (
        "ada", "King", "ada.king@facility.example")  # the username stays


def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(client, provider):
    response = client.get("/oidc/authenticate/")
    callback = urlsplit(at_provider(response["Location"]))
    query = dict(parse_qsl(callback.query), state="forged-state")
    response = client.get(callback.path, query, follow=True)
    assert signed_in_as(client) is None
    assert response.redirect_chain[-1][0] == "/login/"
    assert "Sign-in with Facility SSO failed" in response.content.decode()
    assert Person.objects.count() == 0
    assert ("POST", "/token") not in provider.requests  # refused before talking to it

    stranger = Client()  # a code and state from another browser's sign-in
    response = stranger.get(callback.path, dict(parse_qsl(callback.query)))
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_as(stranger) is None


def test_a_state_works_once(client, provider):
    response = client.get("/oidc/authenticate/")
    callback = urlsplit(at_provider(response["Location"]))
    query = dict(parse_qsl(callback.query))
    assert client.get(callback.path, query).status_code == 302
    assert signed_in_as(client) is not None
    client.post("/logout/")
    client.get("/oidc/authenticate/")  # a fresh sign-in in progress, another state
    response = client.get(callback.path, query)  # the old answer, replayed
    assert response["Location"] == "/login/" and signed_in_as(client) is None


def test_an_id_token_for_another_client_is_refused(client, provider):
    provider.id_token_overrides = {"aud": "another-app"}
    response = sso_sign_in(client, provider)
    assert response["Location"] == "/login/" and signed_in_as(client) is None
    assert Person.objects.count() == 0


def test_a_local_account_is_never_taken_over_by_email_or_username(client, provider):
    local = PersonFactory(username="ada", email="ada@facility.example")
    response = sso_sign_in(client, provider)
    assert response["Location"] == "/login/" and signed_in_as(client) is None
    page = client.get("/login/").content.decode()
    assert "An mmCAT account named “ada” already exists" in page
    assert provider.user["sub"] in page  # what staff need to link the accounts
    assert Person.objects.count() == 1

    # Staff link the local account (admin: external id); the next SSO sign-in uses it.
    local.external_id = provider.user["sub"]
    local.save()
    response = sso_sign_in(client, provider)
    assert response.status_code == 302 and signed_in_as(client) == local
    local.refresh_from_db()
    assert (local.first_name, local.last_name, local.has_usable_password()) == (
        "Ada", "Lovelace", True)


def test_a_username_of_another_sso_identity_gets_a_number(client, provider):
    PersonFactory(username="ada", external_id="someone-else")
    sso_sign_in(client, provider)
    assert signed_in_as(client).username == "ada-2"


def test_an_sso_user_sees_what_a_local_user_would(client, provider):
    session = SessionFactory()
    sso_sign_in(client, provider)
    person = signed_in_as(client)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    session.proposal.members.create(person=person)
    assert client.get(f"/sessions/{session.pk}/").status_code == 200


def test_a_password_sign_in_never_reaches_the_provider(client, provider):
    person = PersonFactory()
    response = client.post("/login/?code=abc&state=def",
                           {"username": person.username, "password": PASSWORD})
    assert response.status_code == 302 and signed_in_as(client) == person
    assert provider.requests == []


def test_a_provider_that_fails_is_a_message_not_an_error_page(client, provider, settings):
    response = client.get("/oidc/authenticate/")
    callback = urlsplit(at_provider(response["Location"]))
    settings.OIDC_OP_TOKEN_ENDPOINT = provider.url("/broken")
    response = client.get(callback.path, dict(parse_qsl(callback.query)), follow=True)
    assert response.status_code == 200 and signed_in_as(client) is None
    assert "Facility SSO did not answer as expected" in response.content.decode()


def test_deactivated_and_service_accounts_cannot_sign_in_with_sso(client, provider):
    person = PersonFactory(external_id=provider.user["sub"], is_active=False)
    sso_sign_in(client, provider)
    assert signed_in_as(client) is None
    assert "deactivated" in client.get("/login/").content.decode()
    Person.objects.filter(pk=person.pk).update(is_active=True, is_service=True)
    sso_sign_in(client, provider)
    assert signed_in_as(client) is None
    assert "belongs to a service account" in client.get("/login/").content.decode()


def test_refused_sso_sign_ins_do_not_lock_anyone_out(client, provider):
    PersonFactory(username="ada")  # an unlinked local account: every SSO sign-in is refused
    for _ in range(6):
        response = sso_sign_in(client, provider)
        assert response.status_code == 302 and response["Location"] == "/login/"
    assert not AccessAttempt.objects.exists()
    provider.user.update(sub="another-subject", preferred_username="grace")
    assert sso_sign_in(Client(), provider).status_code == 302
    assert Person.objects.filter(username="grace").exists()
