from django.db import models


class Note(models.Model):
    """Plugin detail of a core dataset: the one-to-one pattern every technique uses."""

    dataset = models.OneToOneField("core.Dataset", on_delete=models.CASCADE,
                                   related_name="dummy_note")
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.text


class Event(models.Model):
    """Records the event hooks the plugin received, so tests can see them."""

    kind = models.CharField(max_length=40)
    object_id = models.BigIntegerField()

    def __str__(self):
        return f"{self.kind} {self.object_id}"
