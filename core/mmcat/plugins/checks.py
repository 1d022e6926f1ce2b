"""System checks for plugins: compatible core version and required settings present."""

from __future__ import annotations

from django.core import checks
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

import mmcat

from .manager import enabled_plugins


@checks.register()
def check_parameter_keys(app_configs=None, **kwargs):
    """Parameter keys are one namespace across techniques: two may not declare the same key."""
    from ..plugins.manager import collect

    owners: dict[str, str] = {}
    errors = []
    for technique in collect("mmcat_techniques"):
        for spec in technique.parameters:
            owner = owners.setdefault(spec.key, technique.slug)
            if owner != technique.slug:
                errors.append(checks.Error(
                    f"Parameter '{spec.key}' is declared by both technique '{owner}' and "
                    f"'{technique.slug}'.",
                    hint="Prefix the new technique's keys (e.g. 'xyz_wavelength') or reuse the "
                         "existing entry without declaring it again.",
                    id="mmcat.E004",
                ))
    return errors


@checks.register()
def check_plugins(app_configs=None, **kwargs):
    errors = []
    core_version = Version(mmcat.__version__)
    for config in enabled_plugins():
        if config.requires_core:
            try:
                spec = SpecifierSet(config.requires_core)
            except InvalidSpecifier:
                errors.append(
                    checks.Error(
                        f"Plugin '{config.label}' has an invalid requires_core "
                        f"'{config.requires_core}'.",
                        id="mmcat.E002",
                    )
                )
                continue
            if not spec.contains(core_version, prereleases=True):
                errors.append(
                    checks.Error(
                        f"Plugin '{config.label}' {config.version} needs mmcat{spec}, "
                        f"but mmcat {core_version} is installed.",
                        hint="Upgrade the plugin or the core so that their versions match.",
                        id="mmcat.E001",
                    )
                )
        settings = config.settings
        for key in config.required_settings:
            if settings.get(key) in (None, ""):
                errors.append(
                    checks.Error(
                        f"Plugin '{config.label}' needs the setting '{key}'.",
                        hint=f'Set MMCAT_PLUGIN_SETTINGS={{"{config.label}": {{"{key}": ...}}}}.',
                        id="mmcat.E003",
                    )
                )
    return errors
