"""Dewar and container barcodes: ``<PREFIX>-D-000123`` and ``<PREFIX>-C-000123``.

Code128-safe (upper-case letters, digits and ``-``), unique, and never reused: the number comes
from a :class:`~mmcat_shipping.models.BarcodeCounter` row locked with ``select_for_update``
(the counter's unique ``series`` guards its first creation; a number already taken, e.g. by an
imported barcode, is skipped).
"""

from __future__ import annotations

import re

from django.apps import apps
from django.db import transaction

from .models import BarcodeCounter, Container, Dewar

BARCODE_RE = re.compile(r"^[A-Z0-9-]{1,45}$")


def prefix() -> str:
    """The site's barcode prefix (plugin setting ``barcode_prefix``), made Code128-safe."""
    raw = str(apps.get_app_config("shipping").get_setting("barcode_prefix") or "MMC")
    cleaned = re.sub(r"[^A-Z0-9-]+", "-", raw.upper()).strip("-")
    return cleaned or "MMC"


def is_scanner_safe(value: str) -> bool:
    return bool(BARCODE_RE.match(value or ""))


def barcode_taken(value: str) -> bool:
    return (Dewar.objects.filter(barcode=value).exists()
            or Container.objects.filter(barcode=value).exists())


def _next(kind: str) -> str:
    series = f"{prefix()}-{kind}"
    with transaction.atomic():
        BarcodeCounter.objects.get_or_create(series=series)  # unique series: safe under races
        counter = BarcodeCounter.objects.select_for_update().get(series=series)
        while True:
            counter.value += 1
            candidate = f"{series}-{counter.value:06d}"
            if not barcode_taken(candidate):
                break
        counter.save(update_fields=["value"])
    return candidate


def new_dewar_barcode() -> str:
    """A new, never used dewar barcode, e.g. ``MMC-D-000123``."""
    return _next("D")


def new_container_barcode() -> str:
    """A new, never used container barcode, e.g. ``MMC-C-000045``."""
    return _next("C")
