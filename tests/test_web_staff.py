"""Staff views: the beamlines' sessions and the job monitor, for facility staff (every beamline)
and beamline staff (their own); anyone else gets a 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mmcat.models import Person, ProcessingJob
from mmcat.testing import BeamlineFactory, PersonFactory, SessionFactory, get_page, web_client

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


browser = web_client
get = get_page


def at(hours):
    return timezone.now() + timedelta(hours=hours)


def schedule(beamline, n=1):
    """n current, n upcoming and n recent sessions on ``beamline``, with local contacts."""
    made = []
    for i in range(n):
        for start, end in ((at(-1), at(7)), (at(24 + i), at(32 + i)), (at(-30 - i), at(-20 - i))):
            session = SessionFactory(beamline=beamline, start=start, end=end)
            session.local_contacts.add(PersonFactory(first_name="Contact", last_name=f"N{i}"))
            made.append(session)
    return made


@pytest.fixture
def world():
    mine, theirs = BeamlineFactory(name="I04"), BeamlineFactory(name="I24")
    scientist = PersonFactory()
    mine.staff.add(scientist)
    return {
        "mine": mine, "theirs": theirs, "scientist": scientist,
        "facility": PersonFactory(role=Person.Role.STAFF),
        "sessions": schedule(mine) + schedule(theirs),
    }


def test_facility_staff_see_every_beamline_and_beamline_staff_their_own(world):
    _, page = get(browser(world["facility"]), "/staff/")
    assert 'data-beamline="I04"' in page and 'data-beamline="I24"' in page
    _, page = get(browser(world["scientist"]), "/staff/")
    assert 'data-beamline="I04"' in page and 'data-beamline="I24"' not in page
    current, upcoming, recent = world["sessions"][:3]
    for session in (current, upcoming, recent):
        assert f'data-session="{session.reference}"' in page
        assert session.proposal.title in page
    assert "Contact N0" in page
    assert 'href="/proposals/"' in page  # all proposals


@pytest.mark.parametrize("who", ["outsider", "member", "local contact only"])
def test_staff_pages_do_not_exist_for_anyone_else(world, who):
    person = PersonFactory()
    session = world["sessions"][0]
    if who == "member":
        session.proposal.members.create(person=person)
    elif who == "local contact only":
        session.local_contacts.add(person)
    client = browser(person)
    assert client.get("/staff/").status_code == 404
    assert client.get("/staff/jobs/").status_code == 404


def test_staff_home_is_constant_in_queries_and_limits_sessions_per_beamline(world):
    client = browser(world["facility"])
    few, _ = get(client, "/staff/")
    for _ in range(4):
        schedule(BeamlineFactory(), 1)
    schedule(world["mine"], 8)
    many, page = get(client, "/staff/")
    assert few == many
    mine = page.split('data-beamline="I04"')[1].split("</section>")[0]
    assert mine.count("<tr data-session=") == 9 + 5 + 5  # all current; 5 next; 5 recent
    _, page = get(client, f"/staff/?beamline={world['mine'].pk}")
    assert 'data-beamline="I24"' not in page and 'data-beamline="I04"' in page


# --- jobs ------------------------------------------------------------------------------------


def job(session, state="failed", **fields):
    defaults = {"task": "dummy.count_parameters", "error": "boom\nTraceback…", "progress": 40,
                "started_at": at(-1),
                "finished_at": at(-0.5), "attempts": 1}
    if state in ("queued", "running"):
        defaults.update(finished_at=None, error="")
    return ProcessingJob.objects.create(session=session, state=state, **{**defaults, **fields})


def test_job_monitor_filters_by_state_and_beamline_within_scope(world):
    mine, theirs = world["sessions"][0], world["sessions"][3]
    failed, running = job(mine), job(mine, state="running", progress=55)
    other = job(theirs)
    _, page = get(browser(world["scientist"]), "/staff/jobs/")
    assert f'data-job="{failed.pk}"' in page and f'data-job="{running.pk}"' in page
    assert f'data-job="{other.pk}"' not in page
    assert 'value="55"' in page and "55%" in page
    assert "<summary>boom</summary>" in page  # the error's first line, the rest unfolds
    _, page = get(browser(world["scientist"]), "/staff/jobs/?state=running")
    assert f'data-job="{failed.pk}"' not in page and f'data-job="{running.pk}"' in page
    facility = browser(world["facility"])
    _, page = get(facility, f"/staff/jobs/?beamline={world['theirs'].pk}&state=failed")
    assert f'data-job="{other.pk}"' in page and f'data-job="{failed.pk}"' not in page
    assert f'id="job-{other.pk}-retry"' in page
    # a beamline outside the scope is ignored, not an error
    _, page = get(browser(world["scientist"]), f"/staff/jobs/?beamline={world['theirs'].pk}")
    assert f'data-job="{other.pk}"' not in page


def test_job_monitor_is_constant_in_queries(world):
    client = browser(world["facility"])
    sessions = world["sessions"]
    job(sessions[0], created_by=PersonFactory())
    few, _ = get(client, "/staff/jobs/")
    for i in range(60):
        job(sessions[i % len(sessions)], created_by=PersonFactory(),
            state=["failed", "running", "succeeded", "queued"][i % 4])
    many, page = get(client, "/staff/jobs/")
    assert few == many
    assert page.count("<tr id=\"job-") == 50


def test_retry_requeues_a_failed_job(world, django_capture_on_commit_callbacks):
    failed = job(world["sessions"][0])
    with django_capture_on_commit_callbacks() as callbacks:
        response = browser(world["scientist"]).post(f"/staff/jobs/{failed.pk}/retry/", **HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and page.startswith(f'<tr id="job-{failed.pk}"')
    assert 'data-state="queued"' in page and "is queued again" in page
    assert f'id="job-{failed.pk}-retry"' not in page
    failed.refresh_from_db()
    assert (failed.state, failed.error, failed.progress, failed.finished_at) == (
        "queued", "", 0, None)
    assert len(callbacks) == 1  # the task is sent once the transaction commits


def test_only_failed_jobs_are_retried(world, django_capture_on_commit_callbacks):
    done = job(world["sessions"][0], state="succeeded", error="", progress=100)
    with django_capture_on_commit_callbacks() as callbacks:
        response = browser(world["facility"]).post(f"/staff/jobs/{done.pk}/retry/", **HTMX)
    assert "Only failed jobs can be retried; this one is Succeeded." in response.content.decode()
    done.refresh_from_db()
    assert done.state == "succeeded" and not callbacks


def test_a_job_whose_task_is_gone_is_not_requeued(world):
    gone = job(world["sessions"][0], task="uninstalled.task")
    response = browser(world["facility"]).post(f"/staff/jobs/{gone.pk}/retry/", **HTMX)
    assert "The task uninstalled.task is not installed here" in response.content.decode()
    gone.refresh_from_db()
    assert gone.state == "failed" and gone.error.startswith("boom")


def test_retry_outside_the_scope_is_404_and_changes_nothing(world):
    other = job(world["sessions"][3])
    for person in (world["scientist"], PersonFactory()):
        assert browser(person).post(f"/staff/jobs/{other.pk}/retry/").status_code == 404
    other.refresh_from_db()
    assert other.state == "failed"
    assert browser(world["facility"]).get(f"/staff/jobs/{other.pk}/retry/").status_code == 405


def test_retry_without_javascript_redirects_back_to_the_filtered_list(world):
    failed = job(world["sessions"][0])
    client = browser(world["scientist"])
    response = client.post(f"/staff/jobs/{failed.pk}/retry/",
                           {"next": "/staff/jobs/?state=failed"})
    assert response.status_code == 302 and response["Location"] == "/staff/jobs/?state=failed"
    assert "is queued again" in client.get(response["Location"]).content.decode()
    response = client.post(f"/staff/jobs/{failed.pk}/retry/", {"next": "https://evil.example/"})
    assert response["Location"] == "/staff/jobs/"
