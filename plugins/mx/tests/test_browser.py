"""A crystallographer's shift in a real browser (Playwright + Debian's Chromium): a collection
started by the beamline appears live on the session page, and the results can be ranked."""

import pytest
from django.apps import apps

from mmcat.testing import SessionFactory, screenshot, sign_in, token_client

pytestmark = pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                                reason="the mx plugin is not enabled (MMCAT_PLUGINS)")


def test_a_collection_started_by_the_beamline_appears_live(page):
    session = SessionFactory(beamline__techniques=["mx"])
    sign_in(page, session.proposal.pi)
    page.goto(f"/sessions/{session.pk}/")
    page.locator("#mx-collections").wait_for()
    beamline = token_client(session.proposal.pi)
    response = beamline.post("/api/v1/mx/collections/", {
        "session": session.reference, "name": "lyso_x1_1", "image_template": "x1_1_####.cbf",
        "number_of_images": 900, "parameters": {"wavelength": 0.9763, "exposure_time": 0.02},
    }, format="json")
    assert response.status_code == 201, response.content
    card = page.locator("article.mx-card", has_text="lyso_x1_1")
    card.wait_for(timeout=25_000)  # the panel polls every 10 s
    assert "0.9763" in card.inner_text()
    screenshot(page, "mx-session-live")
    page.locator("#mx-summary-link").click()
    page.locator("#mx-summary-filters").wait_for()
    screenshot(page, "mx-summary")
