from django.db import models

from .proposals import Session
from .samples import Sample


class Dataset(models.Model):
    """The unit of data: a collection, a processing result, a merge of several datasets."""

    class Kind(models.TextChoices):
        RAW = "raw", "Raw"
        PROCESSED = "processed", "Processed"
        MERGED = "merged", "Merged"
        DERIVED = "derived", "Derived"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        ABORTED = "aborted", "Aborted"

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="datasets")
    sample = models.ForeignKey(
        Sample, null=True, blank=True, on_delete=models.PROTECT, related_name="datasets"
    )
    technique = models.SlugField(max_length=40, help_text="Slug of the technique (plugin).")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RAW)
    name = models.CharField(max_length=255)
    location = models.CharField(max_length=1024, blank=True, help_text="Folder of the files.")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.COMPLETE)
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [models.F("start_time").desc(nulls_last=True), "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "name"], name="dataset_name_per_session"),
        ]
        indexes = [
            models.Index(fields=["session", "-start_time"]),
            models.Index(fields=["technique", "kind"]),
        ]

    def __str__(self):
        return self.name


class Datafile(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024)
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes.")
    checksum = models.CharField(max_length=140, blank=True, help_text="e.g. sha256:…")
    format = models.CharField(max_length=40, blank=True, help_text="e.g. cbf, nexus, mtz.")

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "path"], name="datafile_path_per_dataset"),
        ]

    def __str__(self):
        return self.path


class DatasetLink(models.Model):
    """Lineage: ``output`` was made from ``input`` (with a role), by a job or a program."""

    output = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="input_links")
    input = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="output_links")
    role = models.CharField(max_length=40, default="input", help_text="e.g. sweep, reference.")
    job = models.ForeignKey(
        "core.ProcessingJob", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="links",
    )
    software = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["output", "input"], name="link_once"),
            models.CheckConstraint(condition=~models.Q(output=models.F("input")),
                                   name="link_not_to_itself"),
        ]

    def __str__(self):
        return f"{self.input_id} -> {self.output_id} ({self.role})"
