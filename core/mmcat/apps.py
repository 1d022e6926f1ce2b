from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "mmcat"
    label = "core"
    verbose_name = "mmCAT core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from auditlog.registry import auditlog

        from . import events, models
        from .plugins import checks  # noqa: F401  (registers the system checks)
        from .plugins.manager import get_plugin_manager

        for model in (
            models.Facility, models.Beamline, models.Person, models.Proposal,
            models.ProposalMember, models.Session, models.SessionMember, models.Sample,
            models.Dataset, models.Datafile, models.DatasetLink, models.ParameterValue,
            models.ProcessingJob, models.Attachment, models.ApiToken,
        ):
            exclude = ["password", "last_login"] if model is models.Person else []
            exclude += ["key_hash", "last_used_at"] if model is models.ApiToken else []
            auditlog.register(model, exclude_fields=exclude)
        events.connect()
        get_plugin_manager()  # fail at start-up on a misspelled hook
        post_migrate.connect(_sync_dictionary, sender=self)


def _sync_dictionary(**kwargs):
    from .dictionary import sync_parameter_types

    sync_parameter_types()
