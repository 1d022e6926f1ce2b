"""The pluggy markers. Plugins decorate their hook functions with ``hookimpl``."""

import pluggy

PROJECT = "mmcat"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
