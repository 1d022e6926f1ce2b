"""Test helpers for the core and for plugin authors: factories of the core models and pytest
fixtures. Use them from a plugin's ``conftest.py`` with ``pytest_plugins = ["mmcat.testing"]``."""

from __future__ import annotations

from datetime import timedelta

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
    password = factory.django.Password("secret-pass-123")


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
