import re

from django.core.exceptions import ValidationError
from django.db import models

from .facility import Beamline
from .people import Person

PROPOSAL_REF_RE = re.compile(r"^(?P<code>[a-z]+)(?P<number>\d+)$")


class Proposal(models.Model):
    """A proposal (experiment application), e.g. ``mx1234``."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    code = models.CharField(max_length=10, help_text="Lower-case letters, e.g. mx, cm, em.")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    pi = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="led_proposals", verbose_name="PI"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["code", "number"], name="proposal_code_number"),
        ]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"{self.code}{self.number}"

    def clean(self):
        if not re.fullmatch(r"[a-z]+", self.code or ""):
            raise ValidationError({"code": "Use lower-case letters only, e.g. mx."})


class ProposalMember(models.Model):
    class Role(models.TextChoices):
        PI = "pi", "Principal investigator"
        COI = "coi", "Co-investigator"
        MEMBER = "member", "Member"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "person"], name="proposal_member_once"),
        ]

    def __str__(self):
        return f"{self.person} in {self.proposal} ({self.get_role_display()})"


class Session(models.Model):
    """A visit: beamtime of a proposal on a beamline, e.g. ``mx1234-5``."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveIntegerField(help_text="Visit number within the proposal.")
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="sessions")
    start = models.DateTimeField()
    end = models.DateTimeField()
    comments = models.TextField(blank=True)
    local_contacts = models.ManyToManyField(
        Person, blank=True, related_name="local_contact_sessions"
    )

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="session_number"),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="session_ends_after_start"),
        ]
        indexes = [models.Index(fields=["beamline", "start"])]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"{self.proposal.reference}-{self.number}"

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The session must end after it starts."})


class SessionMember(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="session_memberships")
    role = models.CharField(max_length=40, blank=True, help_text="e.g. team leader, data collector")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "person"], name="session_member_once"),
        ]

    def __str__(self):
        return f"{self.person} on {self.session}"
