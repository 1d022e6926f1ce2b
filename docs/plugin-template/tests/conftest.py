"""Fixtures for the XYZ plugin's tests.

``mmcat.testing`` brings the core's factories (``mmcat.testing.SessionFactory`` …) and the
fixtures ``member`` (a person), ``session`` (a session ``member`` belongs to) and ``client_of``
(``client_of(person)``: an API client with that person's token). Import the factories inside
fixtures or in the test modules, not at the top of this file: ``pytest_plugins`` must load
``mmcat.testing`` before anything imports it.
"""

import pytest

pytest_plugins = ["mmcat.testing"]


@pytest.fixture
def sample_file():
    """The sample XYZ-SCAN file the package ships (``mmcat demo`` uses it too)."""
    from mmcat_xyz.demo import SAMPLE

    return SAMPLE


@pytest.fixture
def xyz_session(session):
    """The core's ``session`` fixture, on a beamline that offers the XYZ technique."""
    session.beamline.techniques = ["xyz"]
    session.beamline.save(update_fields=["techniques"])
    return session


@pytest.fixture
def xyz_dataset(xyz_session):
    from mmcat.testing import DatasetFactory

    return DatasetFactory(session=xyz_session, technique="xyz")


@pytest.fixture
def outsider():
    """A signed-up person who is in no proposal: sees nothing."""
    from mmcat.testing import PersonFactory

    return PersonFactory()


@pytest.fixture
def other_session():
    """A session of someone else's proposal, invisible to ``member``."""
    from mmcat.testing import SessionFactory

    return SessionFactory(beamline__techniques=["xyz"])
