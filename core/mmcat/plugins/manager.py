"""The plugin manager: built once the Django app registry is ready, from the enabled plugins."""

from __future__ import annotations

import functools
import logging
from importlib import import_module
from itertools import chain

import pluggy
from django.apps import apps
from django.conf import settings

from . import hookspecs
from .markers import PROJECT

logger = logging.getLogger(__name__)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The manager with every enabled plugin's hooks module registered and checked."""
    from .config import PluginConfig

    pm = _new_manager()
    for config in apps.get_app_configs():
        if isinstance(config, PluginConfig) and config.hooks_module:
            module = import_module(f"{config.name}.{config.hooks_module}")
            pm.register(module, name=config.label)
    pm.check_pending()
    if getattr(settings, "MMCAT_TRACE_HOOKS", False):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def hook():
    """Shortcut: ``hook().mmcat_techniques()``."""
    return get_plugin_manager().hook


def collect(hook_name: str, **kwargs) -> list:
    """Call a collecting hook and flatten the lists the plugins returned."""
    results = getattr(hook(), hook_name)(**kwargs)
    return list(chain.from_iterable(r for r in results if r))


def collect_isolated(hook_name: str, **kwargs) -> list:
    """Like :func:`collect`, for page decorations (menus, panels, widgets): a plugin whose hook
    raises is logged and left out, so that one broken plugin cannot break a core page."""
    results = []
    for impl in reversed(getattr(hook(), hook_name).get_hookimpls()):  # pluggy's call order
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception:
            logger.exception("plugin %s failed in %s; left out", impl.plugin_name, hook_name)
            continue
        results.extend(result or [])
    return results


def enabled_plugins():
    """The enabled plugins' app configs, in ``INSTALLED_APPS`` order."""
    from .config import PluginConfig

    return [c for c in apps.get_app_configs() if isinstance(c, PluginConfig)]
