"""The MX service functions (mmcat_mx.ingest) and the ingest task, on real pipeline output.

Expected values are those of /work/shared/reference/realdata/README.md (§2.1 autoPROC.xml,
§2.3 ispyb.xml), read from the files in mmcat_mx/realdata/.
"""

from pathlib import Path

import pytest
from django.apps import apps
from django.core.files import File

import mmcat_mx
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, Dataset, DatasetLink, ParameterValue, ProcessingJob
from mmcat.testing import DatasetFactory, SampleFactory, SessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]
REALDATA = Path(mmcat_mx.__file__).parent / "realdata"

if apps.is_installed("mmcat_mx"):
    from mmcat_mx.ingest import (
        IngestError,
        add_image_quality,
        finish_collection,
        loose_time,
        processing_from_parse,
        record_processing,
        set_strategies,
        start_collection,
    )
    from mmcat_mx.models import (
        DataCollection,
        DataCollectionGroup,
        GridInfo,
        ImageQuality,
        ProcessingRun,
        ScreeningStrategy,
        ShellStatistics,
    )
    from mmcat_mx.parsers import autoproc_xml

# README §2.1: (overall, inner, outer) of autoPROC.xml, in ShellStatistics' columns.
AUTOPROC_SHELLS = {
    "resolution_low": (100.654, 100.654, 2.236),
    "resolution_high": (2.199, 5.967, 2.199),
    "r_merge": (0.513, 0.409, 1.265),
    "r_meas": (0.543, 0.436, 1.564),  # rMeasAllIPlusIMinus
    "r_pim": (0.174, 0.146, 0.902),  # rPimAllIPlusIMinus
    "n_observations": (530047, 31567, 8522),
    "n_unique": (64583, 3435, 3076),
    "i_over_sigma": (8.7, 17.4, 1.4),
    "completeness": (98.9, 99.8, 94.4),
    "multiplicity": (8.2, 9.2, 2.8),
    "cc_half": (0.968, 0.962, 0.330),
    "anomalous_completeness": (95.9, 99.8, 79.4),
    "anomalous_multiplicity": (4.3, 5.0, 1.6),
    "cc_anomalous": (-0.355, -0.500, -0.023),
}
# README §2.3: ispyb.xml of xia2 0.3.6.3 (no ccHalf in the file).
XIA2_SHELLS = {
    "resolution_low": (42.66, 42.66, 1.95),
    "resolution_high": (1.9, 8.5, 1.9),
    "r_merge": (0.048, 0.028, 0.648),
    "r_meas": (0.057, 0.034, 0.767),
    "r_pim": (0.022, 0.013, 0.288),
    "n_observations": (125167, 1512, 9679),
    "n_unique": (18787, 247, 1388),
    "i_over_sigma": (19.3, 55.0, 2.6),
    "completeness": (99.9, 99.2, 99.9),
    "multiplicity": (6.7, 6.1, 7.0),
    "anomalous_completeness": (99.4, 100.0, 99.8),
    "anomalous_multiplicity": (3.4, 3.8, 3.5),
    "cc_half": (None, None, None),
}


def assert_shells(run, expected):
    rows = {row.shell: row for row in ShellStatistics.objects.filter(run=run)}
    assert set(rows) == {"overall", "inner", "outer"}
    for field, values in expected.items():
        for shell, value in zip(("overall", "inner", "outer"), values, strict=True):
            stored = getattr(rows[shell], field)
            if value is None:
                assert stored is None, (shell, field)
            else:
                assert stored == pytest.approx(value, rel=1e-9), (shell, field)


def values(dataset):
    return {pv.type.key: pv.value for pv in dataset.parameters.select_related("type")}


def start(session, **extra):
    data = {"session": session.reference, "name": "x828_1", "number_of_images": 100,
            "start_time": "2026-11-24T10:02:11Z", "image_template": "x828_1_####.cbf",
            "parameters": {"wavelength": 0.9763, "exposure_time": {"value": 10, "unit": "ms"}},
            **extra}
    return start_collection(None, data)


# --- collections ----------------------------------------------------------------------------


def test_starting_a_collection_writes_dataset_collection_group_and_typed_parameters(session):
    collection, created = start(session)
    assert created
    dataset = collection.dataset
    assert (dataset.technique, dataset.kind, dataset.state) == ("mx", "raw", "running")
    assert collection.group.experiment_type == "rotation"
    assert collection.group.session == session
    params = values(dataset)
    assert params["exposure_time"] == pytest.approx(0.01)  # 10 ms in the dictionary's s
    assert params["number_of_images"] == 100
    assert params["experiment_type"] == "rotation"


def test_a_grid_scan_gets_grid_info_a_mesh_group_and_its_number_of_images(session):
    collection, _ = start_collection(None, {
        "session": session.pk, "name": "grid1",
        "grid": {"steps_x": 20, "steps_y": 15, "dx": 10, "dy": 5, "snaked": False}})
    grid = GridInfo.objects.get(collection=collection)
    assert (grid.steps_x, grid.steps_y, grid.dx, grid.dy, grid.snaked) == (20, 15, 10, 5, False)
    assert collection.number_of_images == 300
    assert collection.group.experiment_type == "mesh"


def test_a_retried_start_returns_the_same_collection_and_a_different_one_is_a_conflict(session):
    first, _ = start(session)
    again, created = start(session)
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(IngestError) as error:
        start(session, number_of_images=200,
              parameters={"wavelength": 0.9, "exposure_time": 0.01})
    assert error.value.status == 409
    message = error.value.errors["name"][0]
    assert "number_of_images" in message and "parameters.wavelength" in message
    assert "exposure_time" not in message  # 0.01 s is what 10 ms became
    assert DataCollection.objects.count() == 1
    assert DataCollectionGroup.objects.count() == 1


def test_a_name_taken_by_a_dataset_that_is_no_collection_is_a_conflict(session):
    DatasetFactory(session=session, technique="mx", name="x828_1")
    with pytest.raises(IngestError) as error:
        start(session)
    assert error.value.status == 409
    assert "not an MX collection" in error.value.errors["name"][0]


def test_bad_start_names_every_field_and_writes_nothing(session):
    other_sample = SampleFactory()
    with pytest.raises(IngestError) as error:
        start_collection(None, {
            "session": session.reference, "name": "", "sample": other_sample.pk,
            "start_time": "yesterday", "first_image": -1, "colour": "blue",
            "parameters": {"wavelength": 50, "nonsense": 1},
            "grid": {"steps_x": 0, "dx": -1}})
    errors = error.value.errors
    assert error.value.status == 400
    for field in ("name", "sample", "start_time", "first_image", "colour",
                  "parameters.wavelength", "parameters.nonsense", "grid.steps_x",
                  "grid.steps_y", "grid.dx", "grid.dy"):
        assert field in errors, field
    assert "above the maximum" in errors["parameters.wavelength"][0]
    assert not Dataset.objects.exists()
    assert not DataCollectionGroup.objects.exists()


def test_a_session_the_user_cannot_see_is_not_found(session):
    outsider_session = SessionFactory()
    with pytest.raises(IngestError) as error:
        start_collection(session.proposal.pi, {"session": outsider_session.reference,
                                               "name": "x"})
    assert "not found" in error.value.errors["session"][0]


def test_a_second_sweep_joins_the_group_and_its_sample(session):
    sample = SampleFactory(proposal=session.proposal)
    first, _ = start(session, sample=sample.pk, experiment_type="SAD")
    second, _ = start_collection(None, {"session": session.pk, "name": "x828_2",
                                        "group": first.group_id})
    assert second.group_id == first.group_id
    assert second.dataset.sample == sample
    with pytest.raises(IngestError) as error:
        start_collection(None, {"session": session.pk, "name": "x828_3",
                                "group": first.group_id, "experiment_type": "mesh"})
    assert "SAD group" in error.value.errors["experiment_type"][0]


def test_image_quality_is_upserted_by_image_number_and_keeps_omitted_fields(session):
    collection, _ = start(session)
    counts = add_image_quality(collection, [
        {"image_number": n, "spots": n, "resolution_estimate": 2.0} for n in range(1, 51)])
    assert counts == {"received": 50, "created": 50, "updated": 0, "images": 50}
    counts = add_image_quality(collection, [{"image_number": 1, "spots": 999},
                                            {"image_number": 51, "spots": 7}])
    assert counts == {"received": 2, "created": 1, "updated": 1, "images": 51}
    first = ImageQuality.objects.get(collection=collection, image_number=1)
    assert (first.spots, first.resolution_estimate) == (999, 2.0)


def test_bad_image_rows_name_index_and_field_and_write_nothing(session):
    collection, _ = start(session)
    with pytest.raises(IngestError) as error:
        add_image_quality(collection, [
            {"image_number": 1, "spots": 3},
            {"image_number": 101, "spots": 1},
            {"image_number": 1, "spots": -2, "resolution_estimate": "high"},
            {"spots": 4}])
    errors = error.value.errors
    assert "outside 1..100" in errors["images[1].image_number"][0]
    assert "also images[0]" in errors["images[2].image_number"][0]
    assert "images[2].spots" in errors and "images[2].resolution_estimate" in errors
    assert "required" in errors["images[3].image_number"][0]
    assert not ImageQuality.objects.exists()
    with pytest.raises(IngestError) as error:
        add_image_quality(collection, [{"image_number": 1}] * 10_001)
    assert "At most 10000" in error.value.errors["images"][0]


def test_ten_thousand_images_in_one_call(session):
    collection, _ = start_collection(None, {"session": session.pk, "name": "big",
                                            "number_of_images": 10_000})
    rows = [{"image_number": n, "spots": n % 300, "bragg_candidates": n % 250,
             "resolution_estimate": 1.5 + n % 7 / 10, "total_intensity": n * 10.0}
            for n in range(1, 10_001)]
    assert add_image_quality(collection, rows)["created"] == 10_000
    assert add_image_quality(collection, rows)["updated"] == 10_000
    assert ImageQuality.objects.filter(collection=collection).count() == 10_000


def test_finishing_sets_state_end_time_snapshots_and_group_end(session):
    collection, _ = start(session)
    finish_collection(collection, {"end_time": "2026-11-24T10:05:41Z", "state": "aborted",
                                   "snapshots": ["/snap/1.png", "/snap/2.png"],
                                   "number_of_images": 40, "parameters": {"flux": 2e12}})
    collection.refresh_from_db()
    dataset = Dataset.objects.get(pk=collection.pk)
    assert dataset.state == "aborted"
    assert dataset.end_time.isoformat() == "2026-11-24T10:05:41+00:00"
    assert collection.snapshots == ["/snap/1.png", "/snap/2.png"]
    assert collection.number_of_images == 40
    assert values(dataset)["number_of_images"] == 40
    assert values(dataset)["flux"] == 2e12
    assert collection.group.end_time == dataset.end_time
    with pytest.raises(IngestError) as error:
        finish_collection(collection, {"end_time": "2026-11-24T09:00:00Z", "state": "done"})
    assert "before" in error.value.errors["end_time"][0]
    assert "not one of" in error.value.errors["state"][0]
    assert Dataset.objects.get(pk=collection.pk).state == "aborted"


def test_strategies_are_replaced_as_a_whole(session):
    collection, _ = start(session, experiment_type="characterisation")
    set_strategies(collection, [{"program": "EDNA", "exposure_time": 0.05},
                                {"program": "BEST", "space_group": "P 21 21 21"}])
    rows = list(ScreeningStrategy.objects.filter(collection=collection))
    assert [(s.program, s.rank, s.space_group) for s in rows] == [
        ("EDNA", 1, ""), ("BEST", 2, "P212121")]
    set_strategies(collection, [{"program": "MOSFLM", "rank": 3}])
    assert list(ScreeningStrategy.objects.values_list("program", "rank")) == [("MOSFLM", 3)]
    with pytest.raises(IngestError) as error:
        set_strategies(collection, [{"transmission": 140}])
    assert set(error.value.errors) == {"strategies[0].program", "strategies[0].transmission"}
    assert ScreeningStrategy.objects.count() == 1


# --- processing -----------------------------------------------------------------------------


@pytest.fixture
def autoproc():
    return autoproc_xml.parse(REALDATA / "autoPROC.xml")


@pytest.fixture
def sweeps(session, autoproc):
    out = []
    for integration in autoproc["integrations"]:
        name = integration["image_file"].removesuffix("_0001.cbf")
        collection, _ = start_collection(None, {"session": session.pk, "name": name,
                                                "number_of_images": 235})
        out.append(collection.dataset)
    return out


def test_autoproc_json_is_stored_as_a_merged_run_with_readme_statistics(sweeps, autoproc):
    payload = processing_from_parse(autoproc, pipeline="autoPROC", run_id="20240221-1")
    run, created = record_processing({**payload, "collections": [d.pk for d in sweeps]})
    assert created
    assert_shells(run, AUTOPROC_SHELLS)
    dataset = run.dataset
    assert dataset.kind == "merged" and dataset.state == "complete"
    assert dataset.name == f"{sweeps[0].name} autoPROC 20240221-1"
    assert {(link.input_id, link.role) for link in dataset.input_links.all()} == {
        (d.pk, "raw data") for d in sweeps}
    assert (run.space_group, run.cell_a, run.cell_c, run.cell_gamma) == (
        "P321", 148.469, 100.654, 120)
    assert run.version == "1.1.7" and run.program.startswith("autoPROC 1.1.7")
    assert run.start_time.isoformat() == "2024-02-21T13:44:19+01:00"
    params = values(dataset)
    assert params["n_observations"] == 530047
    assert params["r_meas"] == pytest.approx(0.543)
    assert params["wavelength"] == pytest.approx(0.96546)
    assert params["program"] == "autoPROC"


def test_a_retry_with_the_same_run_id_updates_and_never_duplicates(sweeps, autoproc):
    payload = {**processing_from_parse(autoproc, pipeline="autoPROC", run_id="7"),
               "collections": [d.pk for d in sweeps],
               "messages": ["first try", {"severity": "warning", "text": "ice rings"}]}
    run, _ = record_processing(payload)
    changed = {**payload, "collections": [d.pk for d in reversed(sweeps)], "messages": [],
               "shells": {"overall": {"resolution_high": 2.5, "resolution_low": 100.0}}}
    again, created = record_processing(changed)
    assert (again.pk, created) == (run.pk, False)
    assert ProcessingRun.objects.count() == 1
    assert Dataset.objects.filter(kind="merged").count() == 1
    assert DatasetLink.objects.count() == 4
    assert list(again.shells.values_list("shell", "resolution_high")) == [("overall", 2.5)]
    assert not again.messages.exists()
    assert "completeness" not in values(again.dataset)  # stale parameters removed
    with pytest.raises(IngestError) as error:
        record_processing({**payload, "collections": [sweeps[0].pk, sweeps[1].pk]})
    assert error.value.status == 409
    assert "run_id" in error.value.errors


def test_without_run_id_every_call_is_a_new_run(sweeps):
    body = {"collection": sweeps[0].pk, "pipeline": "fast_dp"}
    first, _ = record_processing(body)
    second, _ = record_processing(body)
    assert first.dataset.name == f"{sweeps[0].name} fast_dp"
    assert second.dataset.name == f"{sweeps[0].name} fast_dp 2"
    assert first.dataset.kind == "processed"


def test_bad_processing_names_the_field_and_writes_nothing(sweeps):
    with pytest.raises(IngestError) as error:
        record_processing({
            "collections": [sweeps[0].pk, 999999, sweeps[0].pk], "status": "ok",
            "cell": [1, 2, 3], "start_time": "2024-02-21",
            "shells": {"overall": {"cc_half": 96.8, "completeness": 0.989, "colour": 1,
                                   "mean_i_over_sigma": 3, "i_over_sigma": 4},
                       "outer": {"resolution_low": 1.9, "resolution_high": 2.0},
                       "middle": {}},
            "messages": [{"severity": "fatal", "text": "x"}]})
    errors = error.value.errors
    for field in ("pipeline", "collections[1]", "collections[2]", "status", "cell",
                  "start_time", "shells.overall.cc_half", "shells.overall.colour",
                  "shells.overall.i_over_sigma", "shells.outer.resolution_low",
                  "shells.middle", "messages[0].severity"):
        assert field in errors, field
    assert "not found" in errors["collections[1]"][0]
    assert not ProcessingRun.objects.exists()
    assert not Dataset.objects.exclude(kind="raw").exists()


def test_dictionary_ranges_apply_to_the_overall_shell(sweeps):
    with pytest.raises(IngestError) as error:
        record_processing({"collection": sweeps[0].pk, "pipeline": "x", "wavelength": 9})
    assert "above the maximum" in error.value.errors["wavelength"][0]


def test_inputs_from_two_proposals_or_not_mx_are_refused(sweeps):
    foreign = DatasetFactory(technique="mx")
    dummy = DatasetFactory(session=sweeps[0].session, technique="dummy")
    with pytest.raises(IngestError) as error:
        record_processing({"collections": [sweeps[0].pk, foreign.pk, dummy.pk],
                           "pipeline": "xia2"})
    assert "different proposals" in error.value.errors["collections"][0]
    assert "not an MX dataset" in error.value.errors["collections[2]"][0]


def test_pipeline_times_are_read_as_iso():
    assert loose_time("Wed Feb 21 13:44:19 CET 2024") == "2024-02-21T13:44:19+01:00"
    assert loose_time("2024-02-21T13:44:19Z") == "2024-02-21T13:44:19+00:00"
    assert loose_time("Wed Feb 21 13:44:19 XYZ 2024") is None
    assert loose_time("2024-02-21 13:44:19") is None  # no zone: unknown, left out


# --- the task -------------------------------------------------------------------------------


def run_job(session, inputs, *files, **parameters):
    ids = []
    for name in files:
        path = name if isinstance(name, Path) else REALDATA / name
        with path.open("rb") as f:
            ids.append(Attachment.objects.create(session=session, dataset=inputs[0],
                                                 name=path.name,
                                                 file=File(f, path.name)).pk)
    job = ProcessingJob.objects.create(session=session, task="mx.ingest_processing",
                                       parameters={"attachments": ids, **parameters})
    job.inputs.set(inputs)
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_the_task_stores_xia2_ispyb_xml_as_a_run_with_readme_shells(session):
    raw, _ = start(session, name="BAZ2BA-x828_1")
    job = run_job(session, [raw.dataset], "ispyb.xml", pipeline="xia2 3daii")
    assert job.state == "succeeded", job.error
    run = ProcessingRun.objects.get(pk=job.result["dataset"])
    assert_shells(run, XIA2_SHELLS)
    assert (run.pipeline, run.program, run.job_id, run.space_group) == (
        "xia2 3daii", "xia2", job.pk, "C2221")
    assert run.command_line.startswith("xia2 -min_images 3 -3daii")
    assert run.dataset.name == f"BAZ2BA-x828_1 xia2 3daii job {job.pk}"
    link = run.dataset.input_links.get()
    assert (link.input_id, link.job, link.software, link.role) == (
        raw.pk, job, "xia2", "raw data")
    # re-running the job updates the same run
    ProcessingJob.objects.filter(pk=job.pk).update(state="queued")
    job_tasks()[job.task].apply(args=[job.pk])
    assert ProcessingRun.objects.count() == 1
    assert ShellStatistics.objects.count() == 3


def test_the_task_reads_correct_lp_and_keeps_an_unreadable_log_attached(session, tmp_path):
    raw = DatasetFactory(session=session, technique="mx", name="A07a_1")
    notes = tmp_path / "notes.txt"
    notes.write_text("processing went fine\n")
    job = run_job(session, [raw], notes, "CORRECT.LP")
    assert job.state == "succeeded", job.error
    run = ProcessingRun.objects.get()
    rows = {row.shell: row for row in run.shells.all()}
    assert set(rows) == {"overall", "outer"}  # CORRECT.LP has no inner-shell summary
    assert rows["overall"].r_merge == pytest.approx(0.048)
    assert rows["overall"].i_over_sigma == pytest.approx(16.42)
    assert rows["outer"].cc_half == pytest.approx(0.235)
    assert run.dataset.attachments.count() == 0  # attachments stay on the raw dataset here
    assert Attachment.objects.filter(job=job).count() == 2
    assert "notes.txt" in job.log


def test_the_task_fails_clearly_and_writes_nothing_for_a_non_result_file(session, tmp_path):
    raw = DatasetFactory(session=session, technique="mx")
    bad = tmp_path / "notes.txt"
    bad.write_text("nothing to see")
    job = run_job(session, [raw], bad)
    assert job.state == "failed"
    assert "no enabled parser recognises" in job.error
    assert not ProcessingRun.objects.exists()
    assert not ParameterValue.objects.exists()


def test_the_task_needs_attachments_of_its_session(session):
    raw = DatasetFactory(session=session, technique="mx")
    job = ProcessingJob.objects.create(session=session, task="mx.ingest_processing",
                                       parameters={"attachments": [12345]})
    job.inputs.add(raw)
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    assert job.state == "failed" and "12345" in job.error


def test_the_demo_job_succeeds_when_the_worker_runs_it():
    from mmcat import demo

    demo.load()
    job = ProcessingJob.objects.get(task="mx.ingest_processing")
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    run = ProcessingRun.objects.get(job=job)
    assert_shells(run, XIA2_SHELLS)
    assert run.dataset.input_links.get().input.name == "BAZ2BA-x828_1"


def test_a_run_reported_running_then_finished_is_one_run(sweeps):
    body = {"collection": sweeps[0].pk, "pipeline": "xia2 dials", "run_id": "42",
            "status": "running", "start_time": "2026-11-24T10:10:00Z"}
    running, created = record_processing(body)
    assert created and running.dataset.state == "running"
    done, created = record_processing({**body, "status": "success",
                                       "end_time": "2026-11-24T10:30:00Z",
                                       "shells": {"overall": {"resolution_high": 1.6}}})
    assert (done.pk, created) == (running.pk, False)
    done.dataset.refresh_from_db()
    assert done.dataset.state == "complete"
    assert done.dataset.end_time.isoformat() == "2026-11-24T10:30:00+00:00"
    assert values(done.dataset)["resolution_high"] == 1.6


def test_several_files_of_one_run_complete_each_other(session):
    raw = DatasetFactory(session=session, technique="mx", name="BAZ2BA-x828_1")
    aimless = REALDATA / "nt5073v16_xBAZ2BAx8281_aimless.log"
    if not aimless.exists():
        pytest.skip("no aimless log in realdata")
    job = run_job(session, [raw], "ispyb.xml", aimless, pipeline="xia2")
    if job.state == "failed" and "aimless" in job.log and "skipped" in job.log:
        pytest.skip("no enabled parser reads the aimless log")
    assert job.state == "succeeded", job.error
    rows = {row.shell: row for row in ProcessingRun.objects.get().shells.all()}
    assert rows["overall"].r_merge == pytest.approx(0.048)  # both files agree
    assert rows["overall"].cc_half is not None  # ispyb.xml has no ccHalf; the aimless log has
    assert rows["outer"].n_unique == 1388
