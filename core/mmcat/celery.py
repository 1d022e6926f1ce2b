"""The Celery application. Workers start with ``celery -A mmcat worker`` (or ``mmcat worker``).

Plugins' ``tasks.py`` modules are autodiscovered. A plugin sends heavy tasks to a queue of its
own with ``@shared_task(queue="<slug>")`` so that a site can give that queue dedicated workers.
Periodic tasks come from the ``mmcat_periodic_tasks`` hook when beat starts.
"""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmcat.settings")

app = Celery("mmcat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def periodic_schedule() -> dict:
    """The beat schedule the enabled plugins ask for."""
    import django

    django.setup()
    from mmcat.plugins.manager import collect

    return {
        entry.name: {"task": entry.task, "schedule": entry.seconds, "kwargs": entry.kwargs}
        for entry in collect("mmcat_periodic_tasks")
    }


@beat_init.connect
def _add_periodic_tasks(sender, **kwargs):
    sender.app.conf.beat_schedule = {**sender.app.conf.beat_schedule, **periodic_schedule()}
