"""Processing jobs: lifecycle, idempotency, retries, and a real worker process."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from mmcat.jobs import MAX_RETRIES, job_tasks
from mmcat.models import ProcessingJob
from mmcat.testing import DatasetFactory
from tests.dummy_plugin.models import Event

pytestmark = pytest.mark.django_db


def make_job(session, **parameters):
    dataset = DatasetFactory(session=session)
    dataset.parameters.create(type_id=_type("dummy_count"), number=3)
    job = ProcessingJob.objects.create(session=session, task="dummy.count_parameters",
                                       parameters=parameters)
    job.inputs.add(dataset)
    return job


def _type(key):
    from mmcat.models import ParameterType

    return ParameterType.objects.get(key=key).pk


def run(job):
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_a_job_runs_to_success_with_progress_log_and_result(session):
    job = run(make_job(session))
    assert job.state == "succeeded"
    assert (job.progress, job.attempts) == (100, 1)
    assert job.result == {"datasets": 1, "parameters": 1}
    assert "counting" in job.log
    assert job.started_at <= job.finished_at
    assert Event.objects.filter(kind="job_succeeded", object_id=job.pk).exists()


def test_a_reported_failure_is_recorded_and_not_retried(session):
    job = run(make_job(session, fail=True))
    assert (job.state, job.error, job.attempts) == ("failed", "asked to fail", 1)
    assert Event.objects.filter(kind="job_failed", object_id=job.pk).exists()


def test_a_crash_is_recorded_with_its_type(session):
    job = run(make_job(session, crash=True))
    assert job.state == "failed"
    assert job.error == "ZeroDivisionError: division by zero"


def test_transient_errors_are_retried_until_success(session):
    job = run(make_job(session, transient_failures=2))
    assert (job.state, job.attempts) == ("succeeded", 3)
    assert job.log.count("transient error, will retry") == 2


def test_transient_errors_give_up_after_the_retry_limit(session):
    job = run(make_job(session, transient_failures=100))
    assert job.state == "failed"
    assert job.attempts == MAX_RETRIES + 1
    assert job.error.startswith(f"gave up after {MAX_RETRIES + 1} attempts")


def test_a_redelivered_message_does_not_run_a_finished_job_again(session):
    job = run(make_job(session))
    run(job)
    assert job.attempts == 1
    assert Event.objects.filter(kind="job_succeeded", object_id=job.pk).count() == 1


def test_retry_endpoint_requeues_only_failed_jobs(session, member, client_of,
                                                  django_capture_on_commit_callbacks):
    api = client_of(member)
    job = run(make_job(session, fail=True))
    done = run(make_job(session))
    assert api.post(f"/api/v1/jobs/{done.pk}/retry/").status_code == 400
    # The retried job runs in this process (the always-eager path is not used: .apply is).
    response = api.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.state, job.error) == ("queued", "")


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real Celery worker process on the configured broker (Redis when REDIS_URL is set, the
    embedded folder broker otherwise) and the test database."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:"
               f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {**os.environ, "DATABASE_URL": url, "MMCAT_DATA_DIR": str(settings.DATA_DIR),
           "DJANGO_SETTINGS_MODULE": "tests.settings"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mmcat", "worker", "--pool=solo",
             "-Q", "celery,mx", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.worker
def test_a_job_submitted_through_the_api_finishes_in_a_real_worker(worker, session, member,
                                                                    client_of):
    dataset = DatasetFactory(session=session)
    dataset.parameters.create(type_id=_type("dummy_count"), number=3)
    response = client_of(member).post("/api/v1/jobs/", {
        "session": session.pk, "task": "dummy.count_parameters", "inputs": [dataset.pk]},
        format="json")
    assert response.status_code == 202, response.content
    job = ProcessingJob.objects.get(pk=response.json()["id"])
    deadline = time.monotonic() + 90
    while job.state not in ProcessingJob.FINISHED and time.monotonic() < deadline:
        time.sleep(0.5)
        job.refresh_from_db()
    assert job.state == "succeeded", worker.read_text()[-3000:]
    assert job.result == {"datasets": 1, "parameters": 1}
    assert "Task dummy.count_parameters[" in worker.read_text()
