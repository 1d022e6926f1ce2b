"""Test helpers for the core and for plugin authors: factories of the core models and pytest
fixtures. Use them from a plugin's ``conftest.py`` with ``pytest_plugins = ["mmcat.testing"]``."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import factory
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from .models import (
    ApiToken,
    Beamline,
    Dataset,
    Facility,
    Person,
    Proposal,
    ProposalMember,
    Sample,
    Session,
)

PASSWORD = "secret-pass-123"  # every PersonFactory person's


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("short_name",)

    name = "Test Light Source"
    short_name = "tls"


class BeamlineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beamline

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"BL{n:02d}")
    techniques = factory.LazyFunction(lambda: ["mx"])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda p: f"{p.username}@example.org")
    password = factory.django.Password(PASSWORD)


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal
        skip_postgeneration_save = True

    code = "mx"
    number = factory.Sequence(lambda n: 1000 + n)
    title = factory.Faker("sentence", nb_words=6)
    pi = factory.SubFactory(PersonFactory)

    @factory.post_generation
    def pi_member(self, create, extracted, **kwargs):
        if create:
            ProposalMember.objects.get_or_create(proposal=self, person=self.pi,
                                                 defaults={"role": "pi"})


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    proposal = factory.SubFactory(ProposalFactory)
    number = factory.Sequence(lambda n: n + 1)
    beamline = factory.SubFactory(BeamlineFactory)
    start = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    end = factory.LazyAttribute(lambda s: s.start + timedelta(hours=24))


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    proposal = factory.SubFactory(ProposalFactory)
    name = factory.Sequence(lambda n: f"x{n}")
    component = "lyso"


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    session = factory.SubFactory(SessionFactory)
    technique = "dummy"
    name = factory.Sequence(lambda n: f"data_{n}")
    start_time = factory.LazyFunction(timezone.now)


def token_client(person) -> APIClient:
    """An API client authenticated with a real token of ``person``."""
    _, key = ApiToken.issue(person, "test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def web_client(person) -> Client:
    """A browser-like test client signed in as ``person``."""
    client = Client()
    client.force_login(person)
    return client


def get_page(client, url) -> tuple[int, str]:
    """GET a page that must answer 200; returns (number of SQL queries, HTML)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(captured), response.content.decode()


@pytest.fixture
def member():
    return PersonFactory()


@pytest.fixture
def session(member):
    session = SessionFactory()
    ProposalMember.objects.create(proposal=session.proposal, person=member, role="member")
    return session


@pytest.fixture
def client_of():
    """``client_of(person)``: an API client with that person's token."""
    return token_client


# --- browser tests: Playwright driving Debian's headless Chromium against a live server --------
# Playwright's sync API runs an event loop in the test thread; the test code's ORM calls are
# still plain synchronous calls made between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("MMCAT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("MMCAT_SCREENSHOTS", "artifacts/screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium (skips the test when it is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (tests/e2e/install-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(chromium, live_server, transactional_db):
    context = chromium.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, person):
    page.goto("/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
