from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "mmcat"
    label = "core"
    verbose_name = "mmCAT core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit, events
        from .plugins import checks  # noqa: F401  (registers the system checks)
        from .plugins.manager import get_plugin_manager

        audit.register_models()
        events.connect()
        get_plugin_manager()  # fail at start-up on a misspelled hook
        post_migrate.connect(_sync_dictionary, sender=self)


def _sync_dictionary(**kwargs):
    from .dictionary import sync_parameter_types

    sync_parameter_types()
