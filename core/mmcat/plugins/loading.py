"""Find installed plugins and decide which are enabled, without importing any plugin code.

Settings call :func:`enabled_plugin_apps`; it reads entry-point metadata only (group
``mmcat.plugins``, entry name = slug = Django app label, value = the plugin's import package).
"""

from __future__ import annotations

from importlib.metadata import entry_points

from django.core.exceptions import ImproperlyConfigured

ENTRY_POINT_GROUP = "mmcat.plugins"


def installed_plugins() -> dict[str, str]:
    """Map slug -> import package for every installed plugin distribution."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def parse_enabled(spec: str | None) -> list[str] | None:
    """Turn ``MMCAT_PLUGINS`` into a list of slugs; ``None`` means every installed plugin."""
    spec = (spec or "").strip()
    if spec in ("all", "*"):
        return None
    return [slug.strip() for slug in spec.split(",") if slug.strip()]


def enabled_plugin_apps(spec: str | None, available: dict[str, str] | None = None) -> list[str]:
    """The app packages to append to ``INSTALLED_APPS`` for the ``MMCAT_PLUGINS`` value ``spec``.

    An unknown slug raises :class:`ImproperlyConfigured` naming the slug and the installed ones.
    """
    available = installed_plugins() if available is None else available
    wanted = parse_enabled(spec)
    if wanted is None:
        return [available[slug] for slug in sorted(available)]
    unknown = [slug for slug in wanted if slug not in available]
    if unknown:
        raise ImproperlyConfigured(
            f"MMCAT_PLUGINS names plugin(s) that are not installed: {', '.join(unknown)}. "
            f"Installed: {', '.join(sorted(available)) or 'none'}."
        )
    return [available[slug] for slug in dict.fromkeys(wanted)]
