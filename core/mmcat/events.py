"""Turn model changes into the plugin event hooks, after the transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save

from .models import Dataset
from .plugins.manager import hook


def _dataset_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        transaction.on_commit(lambda: hook().mmcat_dataset_created(dataset=instance))


def dataset_created_in_bulk(datasets) -> None:
    """Bulk inserts skip ``post_save``; the bulk writer calls this instead."""
    datasets = list(datasets)
    transaction.on_commit(
        lambda: [hook().mmcat_dataset_created(dataset=d) for d in datasets]
    )


def job_finished(job) -> None:
    hook().mmcat_job_finished(job=job)


def connect() -> None:
    post_save.connect(_dataset_saved, sender=Dataset, dispatch_uid="mmcat.dataset_created")
