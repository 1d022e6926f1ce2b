from django.db import models

from .people import Person


class IngestRequest(models.Model):
    """A bulk ingest: who sent it, when, and what was created. With an idempotency key, a retry
    with the same key returns this answer instead of writing again."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="ingest_requests")
    key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL: no key)
    body_hash = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "key"], name="ingest_key_per_person"),
        ]

    def __str__(self):
        return f"{self.key} by {self.person}"
