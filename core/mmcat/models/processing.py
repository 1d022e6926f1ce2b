import uuid

from django.db import models

from .datasets import Dataset
from .people import Person
from .proposals import Session


class ProcessingJob(models.Model):
    """A run of a Celery task over datasets, with its state, progress, log and results."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINISHED = (State.SUCCEEDED, State.FAILED)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="jobs")
    task = models.CharField(max_length=200, help_text="Registered name of the Celery task.")
    parameters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    log = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    inputs = models.ManyToManyField(Dataset, blank=True, related_name="jobs")
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.task} [{self.state}]"


def attachment_path(instance, filename):
    return f"attachments/{instance.session_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
    """A file tied to a dataset or a job: a log, an MTZ, a plot, a snapshot."""

    class Kind(models.TextChoices):
        LOG = "log", "Log"
        RESULT = "result", "Result"
        IMAGE = "image", "Image"
        PLOT = "plot", "Plot"
        OTHER = "other", "Other"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attachments")
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    job = models.ForeignKey(
        ProcessingJob, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=attachment_path, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dataset__isnull=False) | models.Q(job__isnull=False),
                name="attachment_has_owner",
            ),
        ]

    def __str__(self):
        return self.name
