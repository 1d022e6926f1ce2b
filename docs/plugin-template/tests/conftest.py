"""Fixtures for the XYZ plugin's tests. ``mmcat.testing`` brings the core's factories and the
fixtures ``member`` (a person), ``session`` (a session ``member`` belongs to) and ``client_of``
(``client_of(person)`` is an API client with that person's token)."""

from pathlib import Path

import pytest
from mmcat.testing import DatasetFactory, PersonFactory, SessionFactory

pytest_plugins = ["mmcat.testing"]

DATA = Path(__file__).parent / "data"


@pytest.fixture
def sample_file():
    return DATA / "scan.xyz"


@pytest.fixture
def xyz_session(session):
    """The core's ``session`` fixture, on a beamline that offers the XYZ technique."""
    session.beamline.techniques = ["xyz"]
    session.beamline.save(update_fields=["techniques"])
    return session


@pytest.fixture
def xyz_dataset(xyz_session):
    return DatasetFactory(session=xyz_session, technique="xyz")


@pytest.fixture
def outsider():
    """A signed-up person who is in no proposal: sees nothing."""
    return PersonFactory()


@pytest.fixture
def other_session():
    """A session of someone else's proposal, invisible to ``member``."""
    return SessionFactory(beamline__techniques=["xyz"])
