"""A scientist's shift in a real browser: sign in, follow a live session, read the lineage of a
merged dataset, manage API tokens. Each test saves screenshots of the pages it visits."""

import re

from mmcat.dictionary import set_parameters
from mmcat.models import ApiToken, DatasetLink, Person
from mmcat.testing import (
    BeamlineFactory,
    DatasetFactory,
    PersonFactory,
    SampleFactory,
    SessionFactory,
    screenshot,
    sign_in,
    token_client,
)


def test_sign_in_and_open_a_session(page):
    session = SessionFactory()
    dataset = DatasetFactory(session=session, name="lyso_x1_1")
    set_parameters(dataset, {"dummy_length": 1.5, "dummy_colour": "red"})
    sign_in(page, session.proposal.pi)
    screenshot(page, "home")
    page.get_by_role("link", name=session.reference).first.click()
    page.get_by_role("heading", name=re.compile(session.reference)).first.wait_for()
    row = page.locator(f"#ds-{dataset.pk}")
    assert row.get_by_role("link", name="lyso_x1_1").is_visible()
    assert "1.5" in row.inner_text()
    screenshot(page, "session")


def test_wrong_password_is_refused(page):
    person = PersonFactory()
    page.goto("/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/login/")
    assert page.get_by_text("correct username and password").is_visible()


def test_a_dataset_ingested_through_the_api_appears_live(page):
    session = SessionFactory()  # running now
    DatasetFactory(session=session, name="first_sweep")
    sign_in(page, session.proposal.pi)
    page.goto(f"/sessions/{session.pk}/")
    page.locator("#live[data-live]").wait_for()
    page.evaluate("window.__not_reloaded = true")
    response = token_client(session.proposal.pi).post("/api/v1/ingest/", {"datasets": [
        {"session": session.pk, "technique": "dummy", "name": "new_sweep",
         "parameters": {"dummy_length": 2.25}}]}, format="json")
    assert response.status_code == 201
    new_id = response.json()["datasets"][0]["id"]
    page.locator(f"#ds-{new_id}").wait_for(timeout=20_000)  # polls every 5 s
    assert page.evaluate("window.__not_reloaded") is True
    rows = page.locator("#datasets-body tr[data-dataset-id]")
    assert rows.first.get_attribute("data-dataset-id") == str(new_id)  # newest first
    screenshot(page, "session-live")


def test_lineage_graph_of_a_merge_across_crystals(page):
    session = SessionFactory()
    sweeps = [DatasetFactory(session=session, name=f"x{i}_1",
                             sample=SampleFactory(proposal=session.proposal, name=f"x{i}"))
              for i in (1, 2, 3)]
    merged = DatasetFactory(session=session, name="x1-x3 merged", kind="merged")
    for sweep in sweeps:
        DatasetLink.objects.create(output=merged, input=sweep, role="sweep")
    sign_in(page, session.proposal.pi)
    page.goto(f"/datasets/{merged.pk}/")
    nodes = page.locator("#lineage-svg a.lineage-node")
    nodes.first.wait_for()
    assert nodes.count() == 4
    assert page.locator(f'#lineage-svg a.lineage-node[data-dataset-id="{merged.pk}"]'
                        ).get_attribute("data-kind") == "merged"
    assert page.locator("path.lineage-edge").count() == 3
    screenshot(page, "dataset-lineage")
    page.locator(f'#lineage-svg a.lineage-node[data-dataset-id="{sweeps[1].pk}"]').click()
    page.wait_for_url(f"**/datasets/{sweeps[1].pk}/")
    assert page.get_by_role("heading", name="x2_1").first.is_visible()


def test_create_use_and_revoke_a_personal_token(page):
    person = PersonFactory()
    sign_in(page, person)
    page.get_by_role("link", name="API tokens").click()
    page.locator("#token-name").fill("xia2 pipeline")
    page.locator("#create-token").click()
    key = page.locator("#token-key").input_value()
    assert key.startswith("mmc_")
    screenshot(page, "token-created")
    api = token_client(person)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/datasets/").status_code == 200
    token = ApiToken.objects.get(person=person, name="xia2 pipeline")
    page.goto("/account/tokens/")
    page.locator(f"#revoke-token-{token.pk}").click()
    page.locator("#confirm-revoke").click()
    page.get_by_text("xia2 pipeline").first.wait_for()
    screenshot(page, "tokens")
    assert api.get("/api/v1/datasets/").status_code == 401


def test_main_pages_for_screenshots(page):
    """Search, calendar, proposals and the staff job monitor, as facility staff see them."""
    staff = PersonFactory(role=Person.Role.STAFF)
    session = SessionFactory(beamline=BeamlineFactory(name="i04-1"))
    for i in range(3):
        set_parameters(DatasetFactory(session=session, name=f"scan_{i}"),
                       {"dummy_length": 1 + i})
    sign_in(page, staff)
    page.goto("/proposals/")
    screenshot(page, "proposals")
    page.goto(f"/proposals/{session.proposal.pk}/")
    screenshot(page, "proposal")
    page.goto("/search/?q=scan")
    assert page.locator("#result-table tr[data-dataset]").count() == 3
    screenshot(page, "search")
    page.goto("/sessions/calendar/?beamline=i04-1")
    assert page.locator(f'a.cal-session[data-session-id="{session.pk}"]').count() >= 1
    screenshot(page, "calendar")
    page.goto("/staff/jobs/")
    screenshot(page, "staff-jobs")


def test_pages_fit_a_tablet_screen(page):
    """On an iPad-sized screen (810 × 1080) no page needs horizontal scrolling."""
    session = SessionFactory()
    merged = DatasetFactory(session=session, kind="merged", name="merged")
    for i in range(2):
        sweep = DatasetFactory(session=session, name=f"sweep_{i}")
        set_parameters(sweep, {"dummy_length": 1 + i, "dummy_colour": "red",
                               "dummy_label": "a fairly long label for a text parameter"})
        DatasetLink.objects.create(output=merged, input=sweep, role="sweep")
    sign_in(page, session.proposal.pi)
    page.set_viewport_size({"width": 810, "height": 1080})
    for name, url in [("tablet-home", "/"), ("tablet-session", f"/sessions/{session.pk}/"),
                      ("tablet-dataset", f"/datasets/{merged.pk}/"), ("tablet-search", "/search/"),
                      ("tablet-proposal", f"/proposals/{session.proposal.pk}/")]:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        screenshot(page, name)
        assert overflow <= 0, f"{url} is {overflow}px wider than the screen"
