import re

from django.core.exceptions import ValidationError
from django.db import models

from .proposals import Proposal

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def validate_sample_name(value: str) -> None:
    if not NAME_RE.match(value):
        raise ValidationError("Use letters, digits, '_' and '-' only.")


class Sample(models.Model):
    """A proposal's sample: a protein, a crystal of it, a grid of a specimen…"""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="samples")
    name = models.CharField(max_length=45, validators=[validate_sample_name])
    component = models.CharField(
        max_length=45, blank=True, help_text="Macromolecule or component, e.g. a protein acronym."
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    comments = models.TextField(blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "component", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "component", "name"], name="sample_name_per_component"
            ),
        ]

    def __str__(self):
        return f"{self.component}-{self.name}" if self.component else self.name

    def clean(self):
        if self.parent_id and self.parent.proposal_id != self.proposal_id:
            raise ValidationError({"parent": "The parent sample belongs to another proposal."})
        node, seen = self.parent, {self.pk}
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": "A sample cannot be its own ancestor."})
            seen.add(node.pk)
            node = node.parent
