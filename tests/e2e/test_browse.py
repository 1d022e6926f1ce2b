"""A scientist's path through mmCAT in a real browser."""

from mmcat.dictionary import set_parameters
from mmcat.testing import DatasetFactory, PersonFactory, SessionFactory

from .conftest import screenshot, sign_in


def test_sign_in_and_open_a_session(page):
    session = SessionFactory()
    pi = session.proposal.pi
    dataset = DatasetFactory(session=session, name="lyso_x1_1")
    set_parameters(dataset, {"dummy_length": 1.5})
    sign_in(page, pi)
    screenshot(page, "home")
    page.get_by_role("link", name=session.reference).first.click()
    page.get_by_role("heading", name=f"Session {session.reference}").wait_for()
    assert page.get_by_role("link", name="lyso_x1_1").is_visible()
    screenshot(page, "session")


def test_wrong_password_is_refused(page):
    person = PersonFactory()
    page.goto("/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/login/")
    assert page.get_by_text("enter a correct username and password").is_visible()
