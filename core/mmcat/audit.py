"""The audit trail (django-auditlog): every change to the core models is logged with its author."""

from auditlog.middleware import AuditlogMiddleware
from auditlog.registry import auditlog
from django.utils.functional import SimpleLazyObject

from . import models

AUDITED = (
    models.Facility, models.Beamline, models.Person, models.Proposal, models.ProposalMember,
    models.Session, models.SessionMember, models.Sample, models.Dataset, models.Datafile,
    models.DatasetLink, models.ParameterValue, models.ProcessingJob, models.Attachment,
    models.ApiToken,
)
NOT_AUDITED_FIELDS = {
    models.Person: ["password", "last_login"],
    models.ApiToken: ["key_hash", "last_used_at"],
    models.ProcessingJob: ["log", "progress"],  # a running job's heartbeat, not a change
}


def register_models() -> None:
    """Log every change to the core models. Bulk ingestion writes with ``bulk_create`` and is
    audited by its :class:`~mmcat.models.IngestRequest` record instead of per row."""
    for model in AUDITED:
        skip = NOT_AUDITED_FIELDS.get(model, [])
        # Only the model's own columns: otherwise auditlog reads every reverse one-to-one
        # (each plugin's detail table) on each save.
        fields = [f.name for f in model._meta.concrete_fields if f.name not in skip]
        auditlog.register(model, include_fields=fields)


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware reads ``request.user`` before the view runs, when a user signed in
    with an API token is not known yet. This one reads it when the change is logged."""

    @staticmethod
    def _get_actor(request):
        return SimpleLazyObject(lambda: request.user)
