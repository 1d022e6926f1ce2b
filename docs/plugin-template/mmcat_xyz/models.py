"""The plugin's own table: details of an XYZ dataset, one-to-one with the core's Dataset.

Plugins extend core tables by composition: a one-to-one (or a foreign key) from the plugin to
the core, never a column added to a core table. The core never imports this module, so
``mmcat migrate xyz zero`` drops the table and leaves every core row in place.
"""

from django.db import models


class Scan(models.Model):
    """Summary of the XYZ scan behind one dataset, written by the ``xyz.ingest_scan`` task."""

    dataset = models.OneToOneField(
        "core.Dataset",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="xyz_scan",  # prefixed with the slug: reverse names share core.Dataset
    )
    points = models.PositiveIntegerField()
    peak_position = models.FloatField(help_text="Position of the highest count (mm).")
    peak_counts = models.FloatField()
    total_counts = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-dataset_id"]

    def __str__(self):
        return f"XYZ scan of dataset {self.dataset_id}"
