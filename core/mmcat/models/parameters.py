from django.db import models

from .datasets import Dataset


class ParameterType(models.Model):
    """An entry of the data dictionary: what a parameter means, its unit and allowed values."""

    class Kind(models.TextChoices):
        NUMBER = "number", "Number"
        INTEGER = "integer", "Integer"
        TEXT = "text", "Text"
        DATETIME = "datetime", "Date and time"
        ENUM = "enum", "Choice"
        VECTOR = "vector", "Vector of numbers"

    key = models.SlugField(max_length=80, unique=True)
    label = models.CharField(max_length=120)
    unit = models.CharField(max_length=30, blank=True, help_text="Canonical unit, e.g. Å, mm, s.")
    value_kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NUMBER)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    mmcif_item = models.CharField(max_length=120, blank=True, verbose_name="mmCIF item")
    searchable = models.BooleanField(default=True)
    technique = models.SlugField(max_length=40, blank=True, help_text="Owning technique.")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["technique", "key"]

    def __str__(self):
        return f"{self.key} ({self.unit})" if self.unit else self.key


class ParameterValue(models.Model):
    """One typed value of one dataset. Numbers (and integers) go to ``number``; text, choices and
    ISO-8601 UTC times to ``text``; vectors to ``vector``. The (type, number) and (type, text)
    indexes make a range search on any parameter an index range scan."""

    # No index of their own: (dataset, type) is unique, and (type, value, dataset) is indexed.
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="parameters",
                                db_index=False)
    type = models.ForeignKey(ParameterType, on_delete=models.PROTECT, related_name="values",
                             db_index=False)
    number = models.FloatField(null=True, blank=True)
    text = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL = no text)
    vector = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "type"], name="one_value_per_parameter"),
        ]
        indexes = [
            models.Index(fields=["type", "number", "dataset"], name="param_number_idx",
                         condition=models.Q(number__isnull=False)),
            models.Index(fields=["type", "text", "dataset"], name="param_text_idx",
                         condition=models.Q(text__isnull=False)),
        ]

    def __str__(self):
        return f"{self.type.key}={self.value}"

    @property
    def value(self):
        return typed_value(self.type, self.number, self.text, self.vector)


def typed_value(ptype: ParameterType, number, text, vector):
    """The value of a parameter from its stored columns, as its type says."""
    kind = ptype.value_kind
    if kind == ParameterType.Kind.INTEGER and number is not None:
        return int(number)
    if kind == ParameterType.Kind.NUMBER:
        return number
    if kind == ParameterType.Kind.VECTOR:
        return vector
    return text
