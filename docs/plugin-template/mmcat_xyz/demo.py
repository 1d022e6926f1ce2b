"""XYZ demonstration data for ``mmcat demo`` (the ``mmcat_demo_data`` hook), built from the
sample file this package ships: a dataset in the running session whose scan the worker reads."""

from __future__ import annotations

from pathlib import Path

from django.core.files import File
from mmcat.models import Attachment, Dataset, ProcessingJob

SAMPLE = Path(__file__).parent / "sampledata" / "scan.xyz"


def load(demo) -> None:
    live = demo.sessions["live"]
    beamline = live.beamline
    if "xyz" not in beamline.techniques:  # the demo facility's beamlines offer MX only
        beamline.techniques = [*beamline.techniques, "xyz"]
        beamline.save(update_fields=["techniques"])
    dataset = Dataset.objects.create(session=live, technique="xyz", name="xyz-scan_1",
                                     state=Dataset.State.COMPLETE)
    with SAMPLE.open("rb") as handle:
        attachment = Attachment.objects.create(session=live, dataset=dataset, kind="result",
                                               name=SAMPLE.name, file=File(handle, SAMPLE.name))
    job = ProcessingJob.objects.create(session=live, task="xyz.ingest_scan",
                                       parameters={"attachment": attachment.pk})
    job.inputs.add(dataset)
    demo.submit(job)  # queued when the demo's transaction commits; the worker runs it
