"""Merging real unmerged intensities with gemmi (mmcat_mx.merging) and the ``mx.merge`` job.

The oracle is the real XDS_ASCII.HKL (EDNA test data; SG 16 P222, cell 32.224 36.554 110.106,
13 395 records): counts, the resolution range, the unique reflections (P222: |h| |k| |l|), the
possible reflections and Rmerge are recomputed here from the file's text in plain Python/numpy,
independently of gemmi. Altered inputs (another space group or cell in the header) are derived
from it at test time in tmp_path.
"""

from __future__ import annotations

import math
from pathlib import Path

import gemmi
import numpy as np
import pytest
from django.apps import apps
from django.core.files import File
from django.core.files.storage import default_storage

import mmcat_mx
from mmcat.jobs import job_tasks
from mmcat.models import Attachment, Dataset, DatasetLink, ProcessingJob
from mmcat.testing import DatasetFactory, SampleFactory
from mmcat_mx.merging import MergingError, merge, read_unmerged

pytestmark = pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                                reason="the mx plugin is not enabled (MMCAT_PLUGINS)")

DATA = Path(mmcat_mx.__file__).parent / "realdata"
XDS = DATA / "XDS_ASCII.HKL"
MERGED_MTZ = DATA / "nt5073v16_xBAZ2BAx8281_free.mtz"
CELL = (32.224, 36.554, 110.106)


def records():
    """(h, k, l, I, sigma) of every data record, read from the text."""
    rows = [line.split() for line in XDS.read_text().splitlines() if not line.startswith("!")]
    return np.array([[float(v) for v in row[:5]] for row in rows if row])


def d_spacing(hkl):
    a, b, c = CELL
    return 1 / np.sqrt((hkl[:, 0] / a) ** 2 + (hkl[:, 1] / b) ** 2 + (hkl[:, 2] / c) ** 2)


@pytest.fixture(scope="module")
def observations():
    data = records()
    return data[data[:, 4] > 0]  # XDS marks misfits with a negative sigma


@pytest.fixture(scope="module")
def merged():
    return merge([XDS])


def unique_p222(hkl):
    return {tuple(abs(int(index)) for index in row) for row in hkl}


def possible_p222(d_min, d_max):
    a, b, c = CELL
    count = 0
    for h in range(int(a / d_min) + 1):
        for k in range(int(b / d_min) + 1):
            for l in range(int(c / d_min) + 1):  # noqa: E741
                if (h, k, l) != (0, 0, 0):
                    d = 1 / math.sqrt((h / a) ** 2 + (k / b) ** 2 + (l / c) ** 2)
                    count += d_min <= d <= d_max
    return count


def test_the_real_file_is_read_with_its_header_and_without_the_rejected_records(observations):
    data = read_unmerged(XDS)
    assert data.n_records == 13395 == len(records())
    assert data.n_observations == len(observations) == 13395 - 252
    assert data.space_group.number == 16
    assert [data.cell.a, data.cell.b, data.cell.c] == pytest.approx(CELL)
    assert data.wavelength == pytest.approx(0.97628)


def test_merging_counts_match_the_file(merged, observations):
    overall = merged["shells"]["overall"]
    hkl = observations[:, :3]
    d = d_spacing(hkl)
    assert merged["space_group"] == "P 2 2 2" and merged["space_group_number"] == 16
    assert merged["cell"] == pytest.approx([*CELL, 90, 90, 90])
    assert overall["n_observations"] == len(observations) == 13143
    assert overall["n_unique"] == len(unique_p222(hkl)) == 3878
    assert overall["resolution_low"] == pytest.approx(d.max(), abs=1e-3)
    assert overall["resolution_high"] == pytest.approx(d.min(), abs=1e-3)
    assert overall["multiplicity"] == pytest.approx(13143 / 3878, abs=0.01)
    possible = possible_p222(d.min() - 1e-6, d.max() + 1e-6)
    assert overall["completeness"] == pytest.approx(100 * 3878 / possible, abs=0.01)
    assert merged["n_records"] == 13395
    assert merged["wavelength"] == pytest.approx(0.97628)


def test_r_values_agree_with_a_hand_computation(merged, observations):
    """Aimless-style weighting, as gemmi's default: the mean of each reflection is weighted by
    1/σ², and the denominator is n·<I> over the reflections measured more than once."""
    groups: dict[tuple, list] = {}
    for h, k, l, i, s in observations:  # noqa: E741
        groups.setdefault((abs(h), abs(k), abs(l)), []).append((i, s))
    r_merge = r_meas = r_pim = denominator = 0.0
    for values in groups.values():
        if len(values) < 2:
            continue
        i = np.array([v[0] for v in values])
        w = 1 / np.array([v[1] for v in values]) ** 2
        mean = (i * w).sum() / w.sum()
        n, deviation = len(i), np.abs(i - mean).sum()
        r_merge += deviation
        r_meas += math.sqrt(n / (n - 1)) * deviation
        r_pim += math.sqrt(1 / (n - 1)) * deviation
        denominator += n * mean
    overall = merged["shells"]["overall"]
    assert overall["r_merge"] == pytest.approx(r_merge / denominator, abs=1e-4)
    assert overall["r_meas"] == pytest.approx(r_meas / denominator, abs=1e-4)
    assert overall["r_pim"] == pytest.approx(r_pim / denominator, abs=1e-4)


def test_statistics_are_plausible_per_shell(merged):
    shells = merged["shells"]
    for name in ("overall", "inner", "outer"):
        s = shells[name]
        assert 0 < s["r_pim"] < s["r_merge"] < s["r_meas"], name
        assert 0 < s["cc_half"] <= 1, name
        assert 0 < s["completeness"] <= 100, name
        assert s["multiplicity"] >= 1 and s["i_over_sigma"] > 0, name
    assert shells["overall"]["r_merge"] < 1
    assert shells["inner"]["resolution_low"] == shells["overall"]["resolution_low"]
    assert shells["outer"]["resolution_high"] == shells["overall"]["resolution_high"]
    assert shells["inner"]["r_merge"] < shells["overall"]["r_merge"] < shells["outer"]["r_merge"]
    assert shells["inner"]["i_over_sigma"] > shells["outer"]["i_over_sigma"]
    assert shells["inner"]["cc_half"] > shells["outer"]["cc_half"]
    bins = merged["bins"]
    assert len(bins) == 10 and bins[0] == shells["inner"] and bins[-1] == shells["outer"]
    assert sum(b["n_observations"] for b in bins) == shells["overall"]["n_observations"]
    assert sum(b["n_unique"] for b in bins) == shells["overall"]["n_unique"]


def test_a_resolution_cut_off_keeps_only_the_lower_resolution_data(merged, observations):
    cut = merge([XDS], resolution=3.5)["shells"]["overall"]
    kept = observations[d_spacing(observations[:, :3]) >= 3.5]
    assert cut["n_observations"] == len(kept)
    assert cut["n_unique"] == len(unique_p222(kept[:, :3]))
    assert cut["n_unique"] < merged["shells"]["overall"]["n_unique"]
    assert cut["resolution_high"] >= 3.5


def test_the_same_file_merged_as_two_crystals_doubles_observations_not_reflections(merged):
    twice = merge([XDS, XDS])
    one, two = merged["shells"]["overall"], twice["shells"]["overall"]
    assert two["n_observations"] == 2 * one["n_observations"]
    assert two["n_unique"] == one["n_unique"]
    assert two["completeness"] == one["completeness"]
    assert two["multiplicity"] == pytest.approx(2 * one["multiplicity"], abs=0.01)
    assert [i["n_observations"] for i in twice["inputs"]] == [13143, 13143]


@pytest.mark.parametrize(("symbol", "message"), [
    ("P 4 2 2", "incompatible with the cell"),
    ("C 2 2 2", "indexed on a P lattice"),
    ("X 9 9", "unknown space group"),
])
def test_an_incompatible_space_group_is_refused(symbol, message):
    with pytest.raises(MergingError, match=message):
        merge([XDS], space_group=symbol)


def test_a_space_group_of_the_same_point_group_removes_its_absences(observations):
    result = merge([XDS], space_group="P212121")
    hkl = observations[:, :3].astype(int)
    # 2₁ axes along a, b and c: h00, 0k0, 00l with an odd index are absent
    absent = sum(1 for row in hkl for axis in range(3)
                 if row[axis] % 2 and not any(row[other] for other in range(3) if other != axis))
    assert result["space_group"] == "P 21 21 21"
    assert result["shells"]["overall"]["n_observations"] == len(hkl) - absent
    assert absent > 0


def test_a_lower_symmetry_gives_more_unique_reflections(merged):
    result = merge([XDS], space_group="P 1 2 1")
    assert result["shells"]["overall"]["n_unique"] > merged["shells"]["overall"]["n_unique"]


def test_the_cell_can_be_refined_slightly_but_not_replaced():
    result = merge([XDS], cell=[32.3, 36.6, 110.2, 90, 90, 90])
    assert result["cell"][:3] == pytest.approx([32.3, 36.6, 110.2])
    with pytest.raises(MergingError, match="not isomorphous"):
        merge([XDS], cell=[40, 36.554, 110.106, 90, 90, 90])
    with pytest.raises(MergingError, match="six numbers"):
        merge([XDS], cell=[32.2, 36.5, 110.1])
    with pytest.raises(MergingError, match="incompatible with the cell"):
        merge([XDS], cell=[32.2, 36.5, 110.1, 90, 91.5, 90])


def altered(tmp_path, old, new):
    text = XDS.read_text()
    assert old in text
    path = tmp_path / "XDS_ASCII_altered.HKL"
    path.write_text(text.replace(old, new, 1))
    return path


def test_inputs_of_another_point_group_are_refused(tmp_path):
    other = altered(tmp_path, "!SPACE_GROUP_NUMBER=   16", "!SPACE_GROUP_NUMBER=    3")
    with pytest.raises(MergingError, match=r"point group 2 \(P 1 2 1\) but XDS_ASCII.HKL in 222"):
        merge([XDS, other])
    # imposing a space group both fit merges them
    assert merge([XDS, other], space_group="P 1 2 1")["shells"]["overall"]["n_observations"] \
        == 2 * 13143


def test_inputs_with_too_different_cells_are_refused(tmp_path):
    other = altered(tmp_path, "32.224    36.554   110.106", "35.446    36.554   110.106")
    with pytest.raises(MergingError, match="XDS_ASCII_altered.HKL: cell .* differs .* 10.0%"):
        merge([XDS, other])


def test_merged_data_and_other_files_are_refused():
    with pytest.raises(MergingError, match="merged data .*no batch"):
        read_unmerged(MERGED_MTZ)
    with pytest.raises(MergingError, match="neither XDS_ASCII.HKL nor MTZ"):
        read_unmerged(DATA / "CORRECT.LP")


def test_an_unmerged_mtz_gives_the_same_statistics_as_the_xds_file(tmp_path, merged):
    path = tmp_path / "unmerged.mtz"
    gemmi.read_xds_ascii(str(XDS)).to_mtz().write_to_file(str(path))  # with BATCH and M/ISYM
    from_mtz = merge([path])
    assert from_mtz["inputs"][0]["n_records"] == 13395
    assert from_mtz["shells"] == merged["shells"]


def test_the_merged_mtz_is_written_with_gemmi(tmp_path, merged):
    result = merge([XDS], mtz_path=tmp_path / "merged.mtz")
    mtz = gemmi.read_mtz_file(result["mtz_path"])
    assert [c.label for c in mtz.columns] == ["H", "K", "L", "IMEAN", "SIGIMEAN", "NOBS"]
    assert mtz.nreflections == merged["shells"]["overall"]["n_unique"]
    assert mtz.spacegroup.number == 16
    assert int(mtz.column_with_label("NOBS").array.sum()) == 13143
    assert mtz.datasets[1].wavelength == pytest.approx(0.97628)
    assert not mtz.batches


# --- the mx.merge job -------------------------------------------------------------------------


def collection(session, name, sample=None, with_file=True):
    raw = DatasetFactory(session=session, technique="mx", name=name, sample=sample)
    if with_file:
        with XDS.open("rb") as f:
            Attachment.objects.create(session=session, dataset=raw, kind="result",
                                      name="XDS_ASCII.HKL", file=File(f, "XDS_ASCII.HKL"))
    return raw


def run_merge(session, inputs, **parameters):
    job = ProcessingJob.objects.create(
        session=session, task="mx.merge",
        parameters={"resolution": None, "space_group": None, "cell": None,
                    "name": "TIR merged", **parameters})
    job.inputs.set(inputs)
    job_tasks()["mx.merge"].apply(args=[job.pk])
    job.refresh_from_db()
    return job


def values_of(dataset):
    return {pv.type.key: pv.value for pv in dataset.parameters.select_related("type")}


@pytest.mark.django_db
def test_the_merge_job_records_a_merged_dataset_with_lineage_mtz_and_statistics(session):
    from mmcat_mx.models import ProcessingRun

    sample = SampleFactory(proposal=session.proposal)
    one, two = collection(session, "TIR_1", sample), collection(session, "TIR_2", sample)
    job = run_merge(session, [one, two])
    assert job.state == "succeeded", job.error
    assert job.progress == 100
    assert "read XDS_ASCII.HKL of TIR_1: 13143 observations (13395 records)" in job.log
    assert "merged 26286 observations into 3878 unique reflections" in job.log

    merged = Dataset.objects.get(pk=job.result["dataset"])
    assert (merged.name, merged.kind, merged.technique, merged.sample) == (
        "TIR merged", "merged", "mx", sample)
    values = values_of(merged)
    assert values["space_group"] == "P222"
    assert values["n_observations"] == 26286 and values["n_unique"] == 3878
    assert values["cell_c"] == pytest.approx(110.106)
    assert values["wavelength"] == pytest.approx(0.97628)
    assert 0 < values["r_merge"] < 1 and 0 < values["cc_half"] <= 1
    assert values["program"] == f"mmCAT merge (gemmi {gemmi.__version__})"

    links = DatasetLink.objects.filter(output=merged)
    assert {(link.input, link.role, link.job) for link in links} == {
        (one, "merged input", job), (two, "merged input", job)}

    mtz_file = Attachment.objects.get(dataset=merged)
    assert mtz_file.name == "TIR_merged_merged.mtz" and mtz_file.job == job
    mtz = gemmi.read_mtz_file(mtz_file.file.path)
    assert mtz.nreflections == 3878

    run = ProcessingRun.objects.get(dataset=merged)
    assert (run.pipeline, run.status, run.job, run.space_group) == (
        "mmCAT merge (gemmi)", "success", job, "P 2 2 2")
    shells = {s.shell: s for s in run.shells.all()}
    assert set(shells) == {"overall", "inner", "outer"}
    assert shells["overall"].n_observations == 26286
    assert shells["outer"].resolution_high == pytest.approx(2.702)
    assert shells["overall"].r_merge == job.result["shells"]["overall"]["r_merge"]


@pytest.mark.django_db
def test_running_the_merge_again_updates_instead_of_duplicating(
        session, django_capture_on_commit_callbacks):
    one = collection(session, "TIR_1")
    job = run_merge(session, [one], resolution=3.0)
    first_file = Attachment.objects.get(dataset=job.result["dataset"]).file.name
    ProcessingJob.objects.filter(pk=job.pk).update(state="queued")
    with django_capture_on_commit_callbacks(execute=True):  # the replaced MTZ goes on commit
        job_tasks()["mx.merge"].apply(args=[job.pk])
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    merged = Dataset.objects.get(pk=job.result["dataset"])
    assert Dataset.objects.filter(kind="processed").count() == 1  # updated, not duplicated
    assert merged.mx_processing.shells.count() == 3
    assert merged.input_links.count() == 1
    attachment = Attachment.objects.get(dataset=merged)
    assert attachment.file.name != first_file
    assert default_storage.exists(attachment.file.name)
    assert not default_storage.exists(first_file)
    assert values_of(merged)["resolution_high"] >= 3.0


@pytest.mark.django_db
def test_a_dataset_without_unmerged_intensities_fails_the_job_by_name(session):
    job = run_merge(session, [collection(session, "TIR_1"),
                              collection(session, "TIR_empty", with_file=False)])
    assert job.state == "failed"
    assert "'TIR_empty' has no unmerged intensities" in job.error
    assert not Dataset.objects.filter(kind="merged").exists()


@pytest.mark.django_db
def test_a_collection_s_unmerged_file_may_be_attached_to_its_processing(session):
    raw = collection(session, "TIR_1", with_file=False)
    processed = collection(session, "TIR_1 XDS", with_file=True)
    Dataset.objects.filter(pk=processed.pk).update(kind="processed")
    DatasetLink.objects.create(output=processed, input=raw, role="raw data")
    job = run_merge(session, [raw])
    assert job.state == "succeeded", job.error
    assert "read XDS_ASCII.HKL of TIR_1 XDS: 13143 observations" in job.log
    merged = Dataset.objects.get(pk=job.result["dataset"])
    assert list(merged.input_links.values_list("input", flat=True)) == [raw.pk]


@pytest.mark.django_db
def test_a_merged_mtz_is_not_taken_for_unmerged_data(session):
    raw = collection(session, "BAZ2BA", with_file=False)
    with MERGED_MTZ.open("rb") as f:
        Attachment.objects.create(session=session, dataset=raw, name=MERGED_MTZ.name,
                                  file=File(f, MERGED_MTZ.name))
    job = run_merge(session, [raw])
    assert job.state == "failed"
    assert "'BAZ2BA' has no readable unmerged intensities" in job.error
    assert "holds merged data" in job.error


@pytest.mark.django_db
def test_an_incompatible_space_group_fails_the_job_and_writes_nothing(session):
    job = run_merge(session, [collection(session, "TIR_1")], space_group="P 4 2 2")
    assert job.state == "failed"
    assert "space group P 4 2 2 (tetragonal) is incompatible" in job.error
    assert not Dataset.objects.filter(kind="merged").exists()
    assert not Attachment.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_the_merge_never_overwrites_another_dataset(session):
    raw = collection(session, "TIR_1")
    job = run_merge(session, [raw], name="TIR_1")
    assert job.state == "failed"
    assert "a dataset named 'TIR_1' already exists" in job.error
    raw.refresh_from_db()
    assert raw.kind == "raw"


def test_empty_options_from_a_form_mean_keep_the_data_s(merged):
    assert merge([XDS], resolution=None, space_group="", cell="")["shells"] == merged["shells"]
    assert merge([XDS], space_group=None, cell=[])["cell"] == merged["cell"]


@pytest.mark.django_db
def test_one_collection_is_reprocessed_with_a_resolution_cut_off(session):
    raw = collection(session, "TIR_1")
    job = run_merge(session, [raw], resolution=3.5, name="TIR_1 at 3.5 A")
    assert job.state == "succeeded", job.error
    reprocessed = Dataset.objects.get(pk=job.result["dataset"])
    assert reprocessed.kind == "processed"  # one input: a reprocessing, not a merge
    values = values_of(reprocessed)
    assert values["n_unique"] == 1848 and values["n_observations"] == 6030
    assert values["resolution_high"] >= 3.5
    assert list(reprocessed.input_links.values_list("input", flat=True)) == [raw.pk]
