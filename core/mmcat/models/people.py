import hashlib
import re
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def validate_orcid(value: str) -> None:
    """Check the ORCID iD's form and its ISO 7064 11,2 check digit."""
    if not ORCID_RE.match(value):
        raise ValidationError("ORCID iD must look like 0000-0002-1825-0097.")
    digits = value.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[-1] != expected:
        raise ValidationError("ORCID iD has a wrong check digit.")


class Person(AbstractUser):
    """A user: a scientist, facility staff, or a service account (a beamline's acquisition)."""

    class Role(models.TextChoices):
        USER = "user", "User"
        STAFF = "staff", "Facility staff"
        ADMIN = "admin", "Administrator"

    orcid = models.CharField(
        "ORCID iD", max_length=19, blank=True, validators=[validate_orcid]
    )
    external_id = models.CharField(
        max_length=200, blank=True, null=True, unique=True,
        help_text="Identifier at the facility's identity provider (SSO subject or user office id).",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.USER)
    is_service = models.BooleanField(
        default=False, help_text="A service account, scoped to its beamlines."
    )

    class Meta:
        verbose_name = "person"
        verbose_name_plural = "people"
        ordering = ["last_name", "first_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def sees_everything(self) -> bool:
        return self.role in (self.Role.STAFF, self.Role.ADMIN) or self.is_superuser


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored; the key is shown once, when created."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, person, name, expires_at=None):
        """Create a token; returns ``(token, key)``. The key cannot be recovered later."""
        key = "mmc_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            person=person, name=name, prefix=key[:12], key_hash=hash_token(key),
            expires_at=expires_at,
        )
        return token, key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )
