"""The shipping plugin's implementation of the mmCAT hooks."""

from mmcat.plugins.markers import hookimpl  # noqa: F401  (used as the hooks are added)
