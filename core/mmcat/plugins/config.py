"""The AppConfig every plugin subclasses: its identity, version range and settings."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from django.apps import AppConfig
from django.conf import settings


class PluginConfig(AppConfig):
    """Base of every plugin's ``AppConfig``.

    Set ``name`` (import package), ``label`` (= slug = entry-point name), ``verbose_name``,
    ``requires_core`` (a PEP 440 specifier such as ``">=0.1,<1"``), and optionally
    ``default_settings`` and ``required_settings``. Read settings with :meth:`get_setting`; a site
    overrides them in ``MMCAT_PLUGIN_SETTINGS = {"<slug>": {...}}`` (env ``MMCAT_PLUGIN_SETTINGS``
    as JSON).
    """

    default = False  # never chosen by Django itself; see __init_subclass__
    default_auto_field = "django.db.models.BigAutoField"
    requires_core: ClassVar[str] = ""
    default_settings: ClassVar[dict[str, Any]] = {}
    required_settings: ClassVar[tuple[str, ...]] = ()
    hooks_module: ClassVar[str] = "hooks"
    urls_module: ClassVar[str] = "urls"
    distribution: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # apps.py imports this base class too; mark the plugin's own config as the one to use.
        cls.default = True

    @property
    def version(self) -> str:
        dist = self.distribution or f"mmcat-{self.label}"
        try:
            return version(dist)
        except PackageNotFoundError:
            return getattr(import_module(self.name), "__version__", "unknown")

    @property
    def settings(self) -> dict[str, Any]:
        site = getattr(settings, "MMCAT_PLUGIN_SETTINGS", {}).get(self.label, {})
        return {**self.default_settings, **site}

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def url_patterns(self):
        """The plugin's web URL patterns (its ``urls`` module), mounted at ``/<label>/``."""
        try:
            module = import_module(f"{self.name}.{self.urls_module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{self.name}.{self.urls_module}":
                raise
            return None
        return module
