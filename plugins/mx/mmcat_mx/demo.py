"""MX demonstration data built from the real pipeline output in ``realdata/``: a live xia2 run
whose result the worker ingests, an XDS run, and four helical sweeps merged by autoPROC."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.files import File

from mmcat.dictionary import set_parameters
from mmcat.models import Attachment, Dataset, DatasetLink, ProcessingJob, Sample

from .parsers import autoproc_xml, xds_correct
from .results import processing_parameters

REALDATA = Path(__file__).parent / "realdata"


def _dataset(session, name, params, **fields):
    """A dataset started a few minutes after the previous one of its session."""
    fields.setdefault("start_time", session.start + timedelta(
        minutes=7 * (session.datasets.count() + 1)))
    fields.setdefault("end_time", fields["start_time"] + timedelta(minutes=4))
    dataset = Dataset.objects.create(session=session, technique="mx", name=name, **fields)
    set_parameters(dataset, params)
    return dataset


def _processed(session, name, result, inputs, role, kind=Dataset.Kind.PROCESSED):
    program = result["program"]["name"]
    dataset = _dataset(session, name, processing_parameters(result), kind=kind,
                       sample=inputs[0].sample)
    for raw in inputs:
        DatasetLink.objects.create(output=dataset, input=raw, role=role, software=program)
    return dataset


def load(demo) -> None:
    live, past = demo.sessions["live"], demo.sessions["past"]
    protein = Sample.objects.get(proposal=live.proposal, name="BAZ2BA")
    x828 = Sample.objects.create(proposal=live.proposal, name="x828", component="BAZ2BA",
                                 parent=protein)
    # xia2 0.3.6.3 on DLS i04-1 (2014): the worker turns ispyb.xml into the processed dataset.
    raw = _dataset(live, "BAZ2BA-x828_1", {
        "wavelength": 0.92, "exposure_time": 0.05, "oscillation_range": 0.1,
        "number_of_images": 1800, "detector_distance": 189.45, "detector": "dectris",
        "experiment_type": "SAD"}, sample=x828,
        location="/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828")
    raw.files.create(path=f"{raw.location}/BAZ2BA-x828_1_0001.cbf", format="cbf")
    with (REALDATA / "ispyb.xml").open("rb") as f:
        attachment = Attachment.objects.create(session=live, dataset=raw, kind="result",
                                               name="ispyb.xml", file=File(f, "ispyb.xml"))
    job = ProcessingJob.objects.create(session=live, task="mx.ingest_processing",
                                       parameters={"attachment": attachment.pk},
                                       created_by=demo.people["dana"])
    job.inputs.add(raw)
    demo.submit(job)
    # XDS (Jan 2020, via XDSAPP): processed here from CORRECT.LP.
    a07 = Sample.objects.create(proposal=live.proposal, name="A07a", component="BAZ2BA",
                                parent=protein)
    raw_xds = _dataset(live, "ARwoDMSO-F2XEntry-A07a_1", {
        "wavelength": 0.9184, "number_of_images": 3600, "detector": "PILATUS",
        "experiment_type": "rotation"}, sample=a07)
    _processed(live, "ARwoDMSO-F2XEntry-A07a_1 XDS", xds_correct.parse(REALDATA / "CORRECT.LP"),
               [raw_xds], role="raw data")
    # autoPROC 1.1.7 on ESRF ID30A-1 (2024): four helical sweeps merged into one dataset.
    insulin = Sample.objects.create(proposal=past.proposal, name="INS", comments="insulin")
    crystal = Sample.objects.create(proposal=past.proposal, name="helical1", component="INS",
                                    parent=insulin)
    result = autoproc_xml.parse(REALDATA / "autoPROC.xml")
    sweeps = []
    for integration in result["integrations"]:
        name = integration["image_file"].removesuffix("_0001.cbf")
        sweeps.append(_dataset(past, name, {
            "wavelength": result["wavelength"], "number_of_images": 235,
            "detector_distance": integration["detector_distance"],
            "experiment_type": "helical"}, sample=crystal,
            location=integration["image_directory"]))
    _processed(past, "INS-Helical autoPROC merged", result, sweeps, role="sweep",
               kind=Dataset.Kind.MERGED)
