"""Diffraction-image thumbnails: the real Pilatus CBF (realdata/phi_scan_001.cbf), small HDF5
files made in the test with h5py (NXmx-like, clearly test-made), the real Therm_6_2.nxs master
whose data file is missing (read from shared/reference, skipped when absent), and the
``mx.make_thumbnail`` job task."""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
import pytest
from django.apps import apps
from django.core.files import File
from PIL import Image

import mmcat_mx
from mmcat_mx.images import ImageError, thumbnail

DATA = Path(mmcat_mx.__file__).parent / "realdata"
CBF = DATA / "phi_scan_001.cbf"
THERM = Path(__file__).resolve().parents[3].parent / "shared/reference/realdata/images" \
    / "Therm_6_2.nxs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def open_png(data: bytes) -> np.ndarray:
    assert data.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    assert image.mode == "L"
    return np.asarray(image)


def test_cbf_thumbnail_size_and_histogram():
    pixels = open_png(thumbnail(CBF))
    # 487 x 619 pixels (fast x slow): the longer side becomes 512, the aspect ratio is kept
    assert pixels.shape == (512, 403)
    white = (pixels == 255).mean()
    gaps = (pixels == 224).mean()
    assert white > 0.85  # the image is almost all 0 counts: white background (inverted grey)
    assert 0.02 < gaps < 0.08  # the 16558 module-gap pixels (-1) are drawn light grey
    assert (pixels < 200).sum() >= 1  # the few counted pixels stay visible as dark dots


def test_cbf_thumbnail_other_size():
    assert open_png(thumbnail(CBF, size=128)).shape == (128, 101)


def make_stack(path: Path, frames: int = 3, external: str | None = None) -> Path:
    """Test-made NXmx-like HDF5: uint16 images of 60 x 80 with a ramp and spots."""
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        detector = entry.create_group("instrument/detector")
        detector.attrs["NX_class"] = "NXdetector"
        detector["saturation_value"] = 60000
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "data"})
        if external:
            data["data_000001"] = h5py.ExternalLink(external, "/entry/data/data")
        else:
            stack = np.zeros((frames, 60, 80), dtype="uint16")
            stack[:, :, :] = np.arange(80, dtype="uint16") % 10  # background 0..9 counts
            stack[1, 30, 40] = 500  # a spot on image 2
            stack[:, 0:5, 0:5] = 65535  # overloaded / dead corner: masked
            data["data"] = stack
    return path


def test_hdf5_thumbnail_contrast(tmp_path):
    path = make_stack(tmp_path / "made_master.h5")
    first = open_png(thumbnail(path, image_number=1, size=160))
    assert first.shape == (120, 160)  # 60 x 80 scaled up by 2
    second = open_png(thumbnail(path, image_number=2, size=160))
    assert second.min() == 0 and first.min() == 0  # overloads and clip level are black
    assert (second == 0).sum() > (first == 0).sum()  # image 2's spot is black too
    assert 100 < np.median(first) < 255  # background: grey ramp, not saturated


def test_hdf5_errors(tmp_path):
    path = make_stack(tmp_path / "made_master.h5")
    with pytest.raises(ImageError, match="image 4 requested, the file has 3"):
        thumbnail(path, image_number=4)
    with pytest.raises(ImageError, match="image_number must be a positive integer"):
        thumbnail(path, image_number=0)
    linked = make_stack(tmp_path / "linked_master.h5", external="linked_000001.h5")
    with pytest.raises(ImageError, match="linked_000001.h5, which is missing"):
        thumbnail(linked)
    broken = tmp_path / "broken.cbf"
    broken.write_bytes(CBF.read_bytes()[:20000])
    with pytest.raises(ImageError, match="broken.cbf: "):
        thumbnail(broken)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ImageError, match="notes.txt: "):
        thumbnail(text)


@pytest.mark.skipif(not THERM.is_file(), reason=f"{THERM} is absent")
def test_nexus_master_with_missing_data_file_gives_a_clear_error():
    with pytest.raises(ImageError, match="Therm_6_2_000001.h5, which is missing"):
        thumbnail(THERM)


# --- the job task ---------------------------------------------------------------------------

needs_mx = pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                              reason="the mx plugin is not enabled (MMCAT_PLUGINS)")


def run_thumbnail_job(session, parameters):
    from mmcat.jobs import job_tasks
    from mmcat.models import ProcessingJob

    job = ProcessingJob.objects.create(session=session, task="mx.make_thumbnail",
                                       parameters=parameters)
    job_tasks()[job.task].apply(args=[job.pk])
    job.refresh_from_db()
    return job


@pytest.fixture
def image_attachment(session, settings, tmp_path):
    from mmcat.models import Attachment
    from mmcat.testing import DatasetFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    dataset = DatasetFactory(session=session, technique="mx", name="phi_scan")
    with CBF.open("rb") as handle:
        return Attachment.objects.create(session=session, dataset=dataset, kind="other",
                                         name=CBF.name, file=File(handle, CBF.name))


@needs_mx
@pytest.mark.django_db
def test_make_thumbnail_task_stores_one_png_and_replaces_it(
        session, image_attachment, django_capture_on_commit_callbacks):
    from mmcat.models import Attachment

    job = run_thumbnail_job(session, {"attachment": image_attachment.pk, "size": 256})
    assert job.state == "succeeded", job.error
    thumb = Attachment.objects.get(pk=job.result["attachment"])
    assert (thumb.name, thumb.kind, thumb.dataset_id) == (
        "phi_scan_001_thumb.png", "image", image_attachment.dataset_id)
    first_file = Path(thumb.file.path)
    assert open_png(first_file.read_bytes()).shape == (256, 201)
    assert job.result["replaced"] is False

    with django_capture_on_commit_callbacks(execute=True):
        again = run_thumbnail_job(session, {"attachment": image_attachment.pk})
    assert again.state == "succeeded", again.error
    assert again.result["replaced"] is True
    thumbs = Attachment.objects.filter(dataset=image_attachment.dataset, kind="image")
    assert [t.pk for t in thumbs] == [thumb.pk]  # the same row, no duplicate
    thumb.refresh_from_db()
    assert open_png(Path(thumb.file.path).read_bytes()).shape == (512, 403)
    assert not first_file.exists()  # the old PNG was removed from storage


@needs_mx
@pytest.mark.django_db
def test_make_thumbnail_task_errors(session, image_attachment, tmp_path):
    from mmcat.models import Attachment
    from mmcat.testing import SessionFactory

    missing = run_thumbnail_job(session, {})
    assert missing.state == "failed"
    assert "parameter 'attachment'" in missing.error
    other = SessionFactory()
    foreign = run_thumbnail_job(other, {"attachment": image_attachment.pk})
    assert foreign.state == "failed" and "attachment of this session" in foreign.error
    bad_size = run_thumbnail_job(session, {"attachment": image_attachment.pk, "size": "big"})
    assert bad_size.state == "failed" and "'size' must be an integer" in bad_size.error

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with text.open("rb") as handle:
        note = Attachment.objects.create(session=session, dataset=image_attachment.dataset,
                                         kind="log", name="notes.txt",
                                         file=File(handle, "notes.txt"))
    unreadable = run_thumbnail_job(session, {"attachment": note.pk})
    assert unreadable.state == "failed" and "notes.txt: " in unreadable.error
    assert not Attachment.objects.filter(kind="image").exists()  # nothing half-written
