"""Diffraction-image thumbnails (PNG) from CBF (fabio) and HDF5/NeXus (h5py + hdf5plugin).

Contrast, as in ADXV's default view: pixels that are negative (module gaps, bad pixels) or at or
above the detector's overload/saturation value are masked; the remaining pixels are clipped at
the 99.5th percentile (at least 1 count) and shown as inverted grey, white for 0 counts and black
at the clip level. Masked gaps are drawn light grey and overloads black. Before resizing, the
image is reduced by block maxima, so single bright spots survive the shrinking.

``thumbnail(path, image_number=1, size=512)`` returns PNG bytes whose longer side is ``size``
pixels; it raises :class:`ImageError` (a ParseError) with a clear message for unreadable files,
an image number out of range, or a NeXus master whose data files are missing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from mmcat.plugins.types import ParseError

PERCENTILE = 99.5
GAP_GREY = 224
MAX_SAMPLE = 4_000_000
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class ImageError(ParseError):
    """The image cannot be read or rendered; the message names the file and the problem."""


def thumbnail(path: Path | str, image_number: int = 1, size: int = 512) -> bytes:
    """Render image ``image_number`` (1-based) of ``path`` as a PNG of longer side ``size``."""
    path = Path(path)
    if not isinstance(image_number, int) or image_number < 1:
        raise ImageError(f"{path.name}: image_number must be a positive integer")
    if not isinstance(size, int) or not 16 <= size <= 4096:
        raise ImageError(f"{path.name}: size must be an integer between 16 and 4096")
    data, overload = read_image(path, image_number)
    return render_png(data, overload, size)


def read_image(path: Path, image_number: int = 1):
    """The 2-D pixel array of one image and the overload value (or None)."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise ImageError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if magic == HDF5_MAGIC:
        return _read_hdf5(path, image_number)
    return _read_fabio(path, image_number)


def _read_fabio(path: Path, image_number: int):
    import fabio

    try:
        image = fabio.open(str(path))
    except Exception as exc:  # fabio raises many types (IOError, ValueError, KeyError…)
        raise ImageError(f"{path.name}: not an image fabio can read ({exc})") from None
    try:
        count = getattr(image, "nframes", 1) or 1
        if image_number > count:
            raise ImageError(f"{path.name}: image {image_number} requested, the file has {count}")
        frame = image if image_number == 1 else image.getframe(image_number - 1)
        data = frame.data
        header = frame.header or {}
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"{path.name}: image data cannot be decoded ({exc})") from None
    if data is None or data.ndim != 2 or data.size == 0:
        raise ImageError(f"{path.name}: no 2-D image data")
    overload = _cbf_overload(header)
    return data, overload


def _cbf_overload(header: dict) -> float | None:
    """Overload from the miniCBF ``Count_cutoff`` line, if any."""
    text = str(header.get("_array_data.header_contents", ""))
    match = re.search(r"Count_cutoff\s+(\d+)", text)
    return float(match[1]) if match else None


def _read_hdf5(path: Path, image_number: int):
    import h5py
    import hdf5plugin  # noqa: F401  (registers the bitshuffle/LZ4 filters used by Eiger data)

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ImageError(f"{path.name}: HDF5 cannot open this file ({exc})") from None
    with handle:
        dataset = _find_stack(handle, path)
        _check_sources(dataset, path)
        if dataset.ndim == 2:
            if image_number != 1:
                raise ImageError(f"{path.name}: image {image_number} requested, the file has 1")
            index = ()
        else:
            if image_number > dataset.shape[0]:
                raise ImageError(f"{path.name}: image {image_number} requested, "
                                 f"the file has {dataset.shape[0]}")
            index = (image_number - 1,)
        try:
            data = dataset[index]
        except (OSError, KeyError, ValueError) as exc:
            raise ImageError(f"{path.name}: image data cannot be read ({exc})") from None
        overload = _hdf5_overload(handle, dataset)
        mask = _pixel_mask(handle, data.shape)
    if mask is not None:
        data = data.astype("int64")
        data[mask] = -1
    return data, overload


def _find_stack(handle, path: Path):
    """``entry/data/<signal>`` (NXdata), else ``entry/data/data``, else the first 3-D dataset;
    for a master with only ``data_00000N`` external links, the first of them."""
    import h5py

    for group_name in ("entry/data", "entry/instrument/detector"):
        group = handle.get(group_name)
        if not isinstance(group, h5py.Group):
            continue
        signal = group.attrs.get("signal", "data")
        signal = signal.decode() if isinstance(signal, bytes) else str(signal)
        names = [signal, "data"] + sorted(n for n in group if n.startswith("data_"))
        for name in names:
            if name not in group:
                continue
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                target = path.parent / link.filename
                if not target.exists():
                    raise ImageError(f"{path.name}: the image data are in {link.filename}, "
                                     "which is missing next to the master file")
            item = group.get(name)
            if isinstance(item, h5py.Dataset) and item.ndim in (2, 3):
                return item
    found = []

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and item.ndim == 3 and not found:
            found.append(item)

    handle.visititems(visit)
    if not found:
        raise ImageError(f"{path.name}: no image stack (2-D or 3-D dataset) in this HDF5 file")
    return found[0]


def _check_sources(dataset, path: Path) -> None:
    """A virtual dataset whose source files are absent would read as zeros: refuse it."""
    import h5py

    if not dataset.is_virtual:
        return
    for source in dataset.virtual_sources():
        if source.file_name == ".":
            link = dataset.file.get(source.dset_name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                if not (path.parent / link.filename).exists():
                    raise ImageError(
                        f"{path.name}: the image data are in {link.filename}, which is missing "
                        "next to the master file (virtual dataset source)")
            elif link is None:
                raise ImageError(f"{path.name}: virtual dataset source {source.dset_name} "
                                 "does not exist")
        elif not (path.parent / source.file_name).exists() and not Path(
                source.file_name).exists():
            raise ImageError(f"{path.name}: the image data are in {source.file_name}, "
                             "which is missing next to the master file")


def _hdf5_overload(handle, dataset) -> float | None:
    import numpy as np

    item = handle.get("entry/instrument/detector/saturation_value")
    if item is not None:
        try:
            return float(np.asarray(item[()]).flat[0])
        except (TypeError, ValueError):
            pass
    if np.issubdtype(dataset.dtype, np.unsignedinteger):
        return float(np.iinfo(dataset.dtype).max)
    return None


def _pixel_mask(handle, shape):
    """True where ``entry/instrument/detector/pixel_mask`` flags a pixel (non-zero)."""
    item = handle.get("entry/instrument/detector/pixel_mask")
    if item is None or tuple(item.shape) != tuple(shape):
        return None
    return item[()] != 0


def render_png(data, overload: float | None, size: int) -> bytes:
    """Inverted-grey PNG (longer side ``size``) with percentile contrast; see module docs."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(data)
    values = pixels.astype("float64")
    gaps = values < 0
    hot = values >= overload if overload is not None else np.zeros(values.shape, bool)
    valid = values[~gaps & ~hot]
    if valid.size > MAX_SAMPLE:
        valid = valid[:: valid.size // MAX_SAMPLE + 1]
    clip = max(float(np.percentile(valid, PERCENTILE)) if valid.size else 1.0, 1.0)
    scaled = np.clip(values / clip, 0.0, 1.0)
    scaled[hot] = 1.0
    scaled[gaps] = -1.0  # sentinel, kept below every real value by the block maximum
    height, width = scaled.shape
    factor = max(1, max(height, width) // size)
    if factor > 1:
        h2, w2 = height // factor * factor, width // factor * factor
        scaled = scaled[:h2, :w2].reshape(h2 // factor, factor, w2 // factor, factor).max(
            axis=(1, 3))
    grey = np.where(scaled < 0, GAP_GREY, np.round(255 * (1.0 - scaled))).astype("uint8")
    image = Image.fromarray(grey)
    h, w = grey.shape
    scale = size / max(h, w)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
    image = image.resize(target, resample)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


__all__ = ["ImageError", "read_image", "render_png", "thumbnail"]


# --- the job task's body (Django imported lazily, so the functions above stay pure) ----------


def make_thumbnail_job(job, ctx) -> dict:
    """Body of the ``mx.make_thumbnail`` job task.

    Parameters: ``attachment`` (id of an image-file Attachment of the job's session that belongs
    to a dataset), optional ``image_number`` (1) and ``size`` (512). Stores the PNG as an
    Attachment of kind "image" named ``<stem>_thumb.png`` on the same dataset; running it again
    replaces that attachment (and its file) instead of adding another.
    """
    from django.core.files.base import ContentFile
    from django.db import transaction

    from mmcat.jobs import JobError
    from mmcat.models import Attachment, Dataset

    parameters = job.parameters or {}
    try:
        source = Attachment.objects.get(pk=int(parameters["attachment"]), session=job.session)
    except (KeyError, TypeError, ValueError, Attachment.DoesNotExist):
        raise JobError("parameter 'attachment' must name an attachment of this session") from None
    if source.dataset_id is None:
        raise JobError(f"attachment {source.name} belongs to no dataset; attach the image to "
                       "the collection's dataset first")
    image_number, size = parameters.get("image_number", 1), parameters.get("size", 512)
    for name, value in (("image_number", image_number), ("size", size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise JobError(f"parameter '{name}' must be an integer, got {value!r}")
    ctx.log(f"rendering image {image_number} of {source.name}")
    try:
        png = thumbnail(Path(source.file.path), image_number=image_number, size=size)
    except ParseError as exc:  # ImageError included
        raise JobError(str(exc)) from None
    ctx.progress(70)
    name = f"{Path(source.name).stem}_thumb.png"
    old_files: list[str] = []
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=source.dataset_id).first()
        existing = list(Attachment.objects.filter(
            dataset_id=source.dataset_id, kind=Attachment.Kind.IMAGE, name=name))
        thumb = existing[0] if existing else Attachment(
            session=job.session, dataset_id=source.dataset_id, kind=Attachment.Kind.IMAGE,
            name=name)
        old_files = [a.file.name for a in existing if a.file]
        thumb.job = job
        thumb.file.save(name, ContentFile(png), save=False)
        thumb.save()
        Attachment.objects.filter(pk__in=[a.pk for a in existing[1:]]).delete()
        storage = thumb.file.storage
        keep = thumb.file.name
        transaction.on_commit(lambda: [storage.delete(f) for f in old_files if f != keep])
    ctx.log(f"stored {name} ({len(png)} bytes)")
    return {"attachment": thumb.pk, "name": name, "bytes": len(png),
            "replaced": bool(existing)}
