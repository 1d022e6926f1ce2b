"""The MX plugin through the core contract: dictionary, parsers, the ingest task, the demo."""

import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files import File
from django.core.management import call_command

import mmcat_mx
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, Dataset, ParameterType, ProcessingJob
from mmcat.routing import queues, route
from mmcat.testing import DatasetFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]
REALDATA = Path(mmcat_mx.__file__).parent / "realdata"


def test_acquisition_parameters_are_in_the_dictionary_with_units_and_mmcif_items():
    expected = {
        "wavelength": ("Å", "_diffrn_radiation_wavelength.wavelength"),
        "exposure_time": ("s", "_diffrn_scan.integration_time"),
        "oscillation_start": ("°", "_diffrn_scan_axis.angle_start"),
        "oscillation_range": ("°", "_diffrn_scan_axis.angle_increment"),
        "number_of_images": ("", "_diffrn_scan.frames"),
        "detector_distance": ("mm", "_diffrn_measurement.sample_detector_distance"),
        "transmission": ("%", ""),
        "flux": ("ph/s", ""),
        "beam_size_x": ("µm", ""),
        "resolution_high": ("Å", "_reflns.d_resolution_high"),
    }
    types = {p.key: (p.unit, p.mmcif_item) for p in ParameterType.objects.filter(technique="mx")}
    for key, value in expected.items():
        assert types[key] == value, key


@pytest.mark.parametrize(("file", "parser", "space_group"), [
    ("autoPROC.xml", "ispyb_autoproc_xml", "P 3 2 1"),
    ("ispyb.xml", "ispyb_autoproc_xml", "C 2 2 21"),
    ("CORRECT.LP", "xds_correct_lp", "C 1 2 1"),
])
def test_mmcat_parse_detects_real_files(file, parser, space_group, capsys):
    call_command("parse", str(REALDATA / file))
    out = json.loads(capsys.readouterr().out)
    assert out["parser"] == parser
    assert out["result"]["space_group"] == space_group


def test_mx_jobs_go_to_the_mx_queue():
    job_tasks()
    assert route("mx.ingest_processing", (), {}, {}) == {"queue": "mx"}
    assert route("core.parse_attachment", (), {}, {}) is None
    assert queues() == ["celery", "mx"]  # what `mmcat worker` consumes by default


def ingest(session, raw, filename):
    with (REALDATA / filename).open("rb") as f:
        attachment = Attachment.objects.create(session=session, dataset=raw, kind="result",
                                               name=filename, file=File(f, filename))
    job = ProcessingJob.objects.create(session=session, task="mx.ingest_processing",
                                       parameters={"attachment": attachment.pk})
    job.inputs.add(raw)
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_xia2_output_becomes_a_processed_dataset_linked_to_the_collection(session):
    raw = DatasetFactory(session=session, technique="mx", name="BAZ2BA-x828_1")
    job = ingest(session, raw, "ispyb.xml")
    assert job.state == "succeeded", job.error
    processed = Dataset.objects.get(pk=job.result["dataset"])
    values = {pv.type.key: pv.value for pv in processed.parameters.select_related("type")}
    assert values["space_group"] == "C2221"
    assert values["resolution_high"] == pytest.approx(1.9)
    assert values["r_merge"] == pytest.approx(0.048)
    assert values["n_unique"] == 18787
    assert values["cell_a"] == pytest.approx(83.089996)
    assert processed.kind == "processed"
    link = processed.input_links.get()
    assert (link.input, link.job, link.software) == (raw, job, "xia2")


def test_running_the_ingest_again_updates_instead_of_duplicating(session):
    raw = DatasetFactory(session=session, technique="mx")
    job = ingest(session, raw, "CORRECT.LP")
    ProcessingJob.objects.filter(pk=job.pk).update(state="queued")
    job_tasks()[job.task].apply(args=[job.pk])
    assert Dataset.objects.filter(kind="processed").count() == 1
    processed = Dataset.objects.get(kind="processed")
    assert processed.parameters.get(type__key="completeness").number == pytest.approx(99.8)


def test_a_file_that_is_not_processing_output_fails_the_job_clearly(session, tmp_path):
    raw = DatasetFactory(session=session, technique="mx")
    bad = tmp_path / "notes.txt"
    bad.write_text("nothing to see")
    attachment = Attachment.objects.create(session=session, dataset=raw, name="notes.txt",
                                           file=File(bad.open("rb"), "notes.txt"))
    job = ProcessingJob.objects.create(session=session, task="mx.ingest_processing",
                                       parameters={"attachment": attachment.pk})
    job.inputs.add(raw)
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    assert job.state == "failed"
    assert "no enabled parser recognises" in job.error
    assert not Dataset.objects.filter(kind="processed").exists()


def test_the_demo_shows_real_numbers_and_a_merge_of_four_sweeps():
    from mmcat import demo
    from mmcat_mx.models import DataCollection, GridInfo, ProcessingRun, ScreeningStrategy

    demo.load()
    merged = Dataset.objects.get(name="INS-Helical autoPROC merged")
    assert merged.kind == "merged"
    assert merged.input_links.filter(role="raw data").count() == 4
    assert merged.parameters.get(type__key="space_group").text == "P321"
    assert merged.parameters.get(type__key="n_observations").number == 530047
    run = ProcessingRun.objects.get(dataset=merged)
    assert run.shells.get(shell="outer").cc_half == pytest.approx(0.330)
    xds = Dataset.objects.get(name="ARwoDMSO-F2XEntry-A07a_1 XDS")
    assert xds.parameters.get(type__key="i_over_sigma").number == pytest.approx(16.42)
    assert xds.mx_processing.shells.get(shell="overall").r_merge == pytest.approx(0.048)
    job = ProcessingJob.objects.get(task="mx.ingest_processing")
    assert job.state == "queued"  # the demo's worker picks it up
    # the MX tables: groups, collections with per-image quality, a grid scan, strategies
    sweeps = DataCollection.objects.filter(dataset__in=merged.input_links.values("input"))
    assert {c.group_id for c in sweeps} == {sweeps[0].group_id}
    assert sweeps[0].group.experiment_type == "helical"
    assert all(c.image_quality.count() == 235 for c in sweeps)
    grid = GridInfo.objects.get()
    assert (grid.steps_x, grid.steps_y) == (20, 15)
    assert grid.collection.image_quality.count() == 300
    assert grid.collection.image_quality.filter(spots__gt=100).count() > 20
    assert ScreeningStrategy.objects.filter(collection__dataset__name="BAZ2BA-x828_ref").count() \
        == 2
    running = DataCollection.objects.get(dataset__name="BAZ2BA-x828_2")
    assert running.dataset.state == "running"
    assert running.group_id == DataCollection.objects.get(dataset__name="BAZ2BA-x828_1").group_id
