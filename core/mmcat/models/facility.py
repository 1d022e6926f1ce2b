from django.db import models


class Facility(models.Model):
    """A site: a synchrotron, an EM centre."""

    name = models.CharField(max_length=200, unique=True)
    short_name = models.SlugField(max_length=40, unique=True)
    url = models.URLField(blank=True)

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Beamline(models.Model):
    """An instrument: a beamline or a microscope, offering one or more techniques."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="beamlines")
    name = models.CharField(max_length=60, unique=True)
    techniques = models.JSONField(
        default=list, blank=True, help_text="Technique slugs offered, e.g. [\"mx\"]."
    )
    staff = models.ManyToManyField(
        "core.Person",
        blank=True,
        related_name="beamlines",
        help_text="Local contacts and the beamline's service accounts: they see its sessions.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
