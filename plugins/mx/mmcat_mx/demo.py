"""MX demonstration data, written through the same service functions as the API
(:mod:`mmcat_mx.ingest`) and built around the real pipeline output in ``realdata/``:

* live session (mx2024-1, i04-1): a grid scan of crystal x828 (a heat map with a crystal in it),
  a characterisation with two proposed strategies, the SAD collection whose xia2 result
  (``ispyb.xml``) the worker ingests, a second sweep still acquiring, and an XDS run;
* past session (mx2031-1, ID30A-1): four helical sweeps merged by autoPROC.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.utils import timezone

from mmcat.models import Attachment, ProcessingJob, Sample

from .ingest import (
    add_image_quality,
    finish_collection,
    processing_from_parse,
    record_processing,
    set_strategies,
    start_collection,
)
from .parsers import autoproc_xml, xds_correct

REALDATA = Path(__file__).parent / "realdata"


def _iso(moment) -> str:
    return moment.isoformat()


def _collect(session, name, start, minutes, *, images=None, state="complete", **data):
    """Start a collection, add its per-image quality, and finish it (unless it runs)."""
    collection, _ = start_collection(None, {"session": session, "name": name,
                                            "start_time": _iso(start), **data})
    if images:
        add_image_quality(collection, images)
    if state != "running":
        finish_collection(collection, {"end_time": _iso(start + timedelta(minutes=minutes)),
                                       "state": state})
    return collection


def _rotation_quality(count, seed, *, peak=420, resolution=1.9, every=1):
    """Spot counts of a rotation: they swing with the crystal's orientation and fade a little
    with radiation damage; the resolution estimate follows the spot count."""
    rng = random.Random(seed)
    rows = []
    for number in range(1, count + 1, every):
        phase = math.sin(2 * math.pi * number / 900) ** 2
        decay = 1 - 0.25 * number / count
        spots = max(0, int(peak * decay * (0.55 + 0.45 * phase) + rng.gauss(0, peak * 0.05)))
        rows.append({
            "image_number": number, "spots": spots,
            "bragg_candidates": int(spots * rng.uniform(0.78, 0.92)),
            "resolution_estimate": round(resolution + 0.9 * (1 - spots / peak)
                                         + rng.uniform(0, 0.15), 2),
            "total_intensity": round(spots * 1450 + rng.uniform(2e4, 3e4), 1),
        })
    return rows


def _grid_quality(steps_x, steps_y, seed):
    """A grid scan over a crystal: an elongated blob with a bright core, a small satellite
    crystal and a few ice-ring hits; image N is cell N, row by row."""
    rng = random.Random(seed)
    rows = []
    for number in range(1, steps_x * steps_y + 1):
        x, y = (number - 1) % steps_x, (number - 1) // steps_x
        u, v = (x - 11.5) * 0.8 + (y - 7) * 0.6, -(x - 11.5) * 0.6 + (y - 7) * 0.8
        crystal = 380 * math.exp(-(u / 4.2) ** 2 - (v / 2.3) ** 2)
        satellite = 140 * math.exp(-((x - 4) ** 2 + (y - 11) ** 2) / 2.0)
        spots = int(crystal + satellite + max(0.0, rng.gauss(0, 4)))
        if rng.random() < 0.03:
            spots += rng.randint(15, 40)  # ice
        rows.append({
            "image_number": number, "spots": spots,
            "bragg_candidates": int(spots * 0.85),
            "resolution_estimate": round(1.7 + 2.8 * (1 - spots / 420), 2) if spots > 10
            else None,
            "total_intensity": round(spots * 1500 + rng.uniform(1e4, 2e4), 1),
        })
    return rows


def load(demo) -> None:
    live, past = demo.sessions["live"], demo.sessions["past"]
    protein = Sample.objects.get(proposal=live.proposal, name="BAZ2BA")
    x828 = Sample.objects.create(proposal=live.proposal, name="x828", component="BAZ2BA",
                                 parent=protein)
    t0 = live.start + timedelta(minutes=10)
    directory = "/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828"
    beam = {"wavelength": 0.92, "detector": "PILATUS 6M", "beam_size_x": 50,
            "beam_size_y": 20, "flux": 2.1e12}
    # A grid scan to find the crystal in the loop: 20 × 15 cells of 10 µm.
    _collect(live, "BAZ2BA-x828_grid1", t0, 2, sample=x828.pk, image_directory=directory,
             image_template="BAZ2BA-x828_grid1_####.cbf",
             grid={"steps_x": 20, "steps_y": 15, "dx": 10, "dy": 10, "snaked": True},
             parameters={**beam, "exposure_time": 0.02, "oscillation_range": 0.0,
                         "transmission": 5, "detector_distance": 300},
             images=_grid_quality(20, 15, seed=828))
    # Characterisation: four images 90° apart, and the strategies EDNA proposes.
    reference = _collect(
        live, "BAZ2BA-x828_ref", t0 + timedelta(minutes=4), 1, sample=x828.pk,
        experiment_type="characterisation", image_directory=directory,
        image_template="ref-BAZ2BA-x828_####.cbf", number_of_images=4,
        parameters={**beam, "exposure_time": 0.05, "oscillation_range": 1.0,
                    "transmission": 20, "detector_distance": 189.45},
        images=[{"image_number": n, "spots": s, "bragg_candidates": int(s * 0.9),
                 "resolution_estimate": r} for n, s, r in
                ((1, 402, 1.85), (2, 371, 1.9), (3, 415, 1.82), (4, 388, 1.88))])
    set_strategies(reference, [
        {"program": "EDNA/BEST", "rank": 1, "space_group": "C2221", "axis_start": 0,
         "axis_end": 180, "oscillation_range": 0.1, "exposure_time": 0.05, "transmission": 20,
         "resolution": 1.9, "completeness": 99.9, "multiplicity": 6.7, "number_of_images": 1800,
         "comments": "Anomalous strategy (S-SAD)."},
        {"program": "EDNA/BEST", "rank": 2, "space_group": "C2221", "axis_start": 30,
         "axis_end": 120, "oscillation_range": 0.15, "exposure_time": 0.04,
         "transmission": 35, "resolution": 1.8, "completeness": 98.5, "multiplicity": 3.6,
         "number_of_images": 600, "comments": "Fast native data set."},
    ])
    # The SAD collection (xia2 0.3.6.3 on DLS i04-1, 2014): the worker ingests ispyb.xml.
    sad = _collect(
        live, "BAZ2BA-x828_1", t0 + timedelta(minutes=8), 2, sample=x828.pk,
        experiment_type="SAD", image_directory=directory,
        image_template="BAZ2BA-x828_1_####.cbf", number_of_images=1800,
        beam_x=144.42668, beam_y=126.06568,
        parameters={**beam, "exposure_time": 0.05, "oscillation_start": 0,
                    "oscillation_range": 0.1, "transmission": 20, "detector_distance": 189.45,
                    "resolution": 1.75},
        images=_rotation_quality(1800, seed=1))
    raw = sad.dataset
    raw.files.create(path=f"{directory}/BAZ2BA-x828_1_0001.cbf", format="cbf")
    with (REALDATA / "ispyb.xml").open("rb") as f:
        attachment = Attachment.objects.create(session=live, dataset=raw, kind="result",
                                               name="ispyb.xml", file=File(f, "ispyb.xml"))
    job = ProcessingJob.objects.create(session=live, task="mx.ingest_processing",
                                       parameters={"attachments": [attachment.pk],
                                                   "pipeline": "xia2"},
                                       created_by=demo.people["dana"])
    job.inputs.add(raw)
    demo.submit(job)
    # A real Pilatus image (DLS I19, phi_scan_001.cbf) stands in for the first image: the
    # worker draws its thumbnail for the collection's card.
    with (REALDATA / "phi_scan_001.cbf").open("rb") as f:
        image = Attachment.objects.create(session=live, dataset=raw, kind="image",
                                          name="phi_scan_001.cbf",
                                          file=File(f, "phi_scan_001.cbf"))
    demo.submit(ProcessingJob.objects.create(session=live, task="mx.make_thumbnail",
                                             parameters={"attachment": image.pk},
                                             created_by=demo.people["dana"]))
    # A second sweep of the same crystal, acquiring now: 450 of 3600 images so far.
    now = timezone.now().replace(microsecond=0)
    _collect(live, "BAZ2BA-x828_2", now - timedelta(minutes=2), 0, state="running",
             group=sad.group_id, image_directory=directory,
             image_template="BAZ2BA-x828_2_####.cbf", number_of_images=3600,
             parameters={**beam, "exposure_time": 0.02, "oscillation_start": 45,
                         "oscillation_range": 0.05, "transmission": 10,
                         "detector_distance": 189.45},
             images=_rotation_quality(3600, seed=2, peak=360)[:450])
    # XDS (Jan 2020, via XDSAPP): a collection processed from CORRECT.LP.
    a07 = Sample.objects.create(proposal=live.proposal, name="A07a", component="BAZ2BA",
                                parent=protein)
    correct = xds_correct.parse(REALDATA / "CORRECT.LP")
    xds_raw = _collect(
        live, "ARwoDMSO-F2XEntry-A07a_1", t0 + timedelta(minutes=30), 6, sample=a07.pk,
        experiment_type="rotation", image_directory="/data/F2XEntry/A07a/images",
        image_template="ARwoDMSO-F2XEntry-A07a_1_????.cbf", number_of_images=3600,
        parameters={"wavelength": correct["wavelength"], "detector": "PILATUS",
                    "oscillation_range": 0.1})
    record_processing(processing_from_parse(correct, pipeline="XDS"), inputs=[xds_raw.dataset])
    # autoPROC 1.1.7 on ESRF ID30A-1 (2024): four helical sweeps merged into one dataset.
    insulin = Sample.objects.create(proposal=past.proposal, name="INS", comments="insulin")
    crystal = Sample.objects.create(proposal=past.proposal, name="helical1", component="INS",
                                    parent=insulin)
    result = autoproc_xml.parse(REALDATA / "autoPROC.xml")
    sweeps, group = [], None
    for index, integration in enumerate(result["integrations"]):
        name = integration["image_file"].removesuffix("_0001.cbf")
        sweep = _collect(
            past, name, past.start + timedelta(minutes=7 * (index + 1)), 4, sample=crystal.pk,
            experiment_type="helical", group=group,
            image_directory=integration["image_directory"], image_template=f"{name}_####.cbf",
            number_of_images=integration["end_image"] - integration["start_image"] + 1,
            beam_x=integration["beam_x"], beam_y=integration["beam_y"],
            parameters={"wavelength": result["wavelength"],
                        "detector_distance": integration["detector_distance"],
                        "oscillation_range": 0.2, "exposure_time": 0.01},
            images=_rotation_quality(235, seed=10 + index, peak=260, resolution=2.2))
        group = sweep.group_id
        sweeps.append(sweep.dataset)
    payload = processing_from_parse(result, pipeline="autoPROC")
    record_processing({**payload, "name": "INS-Helical autoPROC merged", "anomalous": True,
                       "messages": [{"severity": "warning",
                                     "text": "Outer shell CC½ 0.33: consider a 2.3 Å cut-off."}]},
                      inputs=sweeps)
