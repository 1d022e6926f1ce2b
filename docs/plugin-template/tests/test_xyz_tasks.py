"""The processing task, run in-process with ``.apply()`` (no broker, no worker)."""

import pytest
from django.core.files.base import ContentFile
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, ProcessingJob

from mmcat_xyz.models import Scan
from mmcat_xyz.tasks import ingest_scan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_job(dataset, content: bytes, member=None):
    attachment = Attachment.objects.create(
        session=dataset.session, dataset=dataset, name="scan.xyz",
        file=ContentFile(content, name="scan.xyz"),
    )
    job = ProcessingJob.objects.create(session=dataset.session, task="xyz.ingest_scan",
                                       parameters={"attachment": attachment.pk},
                                       created_by=member)
    job.inputs.add(dataset)
    return job


def test_the_core_finds_the_task():
    assert "xyz.ingest_scan" in job_tasks()


def test_job_succeeds_and_records_the_scan(xyz_dataset, sample_file, member):
    job = make_job(xyz_dataset, sample_file.read_bytes(), member)

    ingest_scan.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.state == ProcessingJob.State.SUCCEEDED, job.error
    assert job.progress == 100
    assert job.result == {"dataset": xyz_dataset.pk, "points": 8, "peak_position": 0.75}
    assert "parsing scan.xyz" in job.log
    assert Scan.objects.get(dataset=xyz_dataset).peak_counts == 1210
    values = {p.type.key: p.value for p in xyz_dataset.parameters.select_related("type")}
    assert values == {"xyz_energy": 12.4, "xyz_points": 8, "xyz_mode": "fluorescence"}


def test_running_again_updates_the_same_rows(xyz_dataset, sample_file):
    for _ in range(2):
        job = make_job(xyz_dataset, sample_file.read_bytes())
        ingest_scan.apply(args=[job.pk])
        ingest_scan.apply(args=[job.pk])  # a redelivered message: the finished job is skipped
        job.refresh_from_db()
        assert job.state == ProcessingJob.State.SUCCEEDED and job.attempts == 1
    assert Scan.objects.filter(dataset=xyz_dataset).count() == 1
    assert xyz_dataset.parameters.count() == 3


def test_a_bad_file_fails_the_job_with_the_parser_message(xyz_dataset):
    job = make_job(xyz_dataset, b"XYZ-SCAN 1\nenergy = 12\n")

    ingest_scan.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.state == ProcessingJob.State.FAILED
    assert "missing header key(s): mode" in job.error
    assert not Scan.objects.filter(dataset=xyz_dataset).exists()


def test_an_out_of_range_value_fails_the_job(xyz_dataset):
    job = make_job(xyz_dataset, b"XYZ-SCAN 1\nenergy = 500 keV\nmode = fluorescence\ndata\n0 1\n")

    ingest_scan.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.state == ProcessingJob.State.FAILED
    assert "above the maximum" in job.error


def test_demo_data_queues_a_job_that_succeeds():
    from mmcat.demo import load

    load()  # runs every enabled plugin's mmcat_demo_data hook
    job = ProcessingJob.objects.get(task="xyz.ingest_scan")
    assert job.state == ProcessingJob.State.QUEUED
    ingest_scan.apply(args=[job.pk])  # what the worker does once the demo has committed
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.SUCCEEDED, job.error
    assert Scan.objects.filter(dataset__name="xyz-scan_1").exists()
