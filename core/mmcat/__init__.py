"""mmCAT core: proposals, sessions, samples, typed datasets, and the plugin contract."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmcat")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from .celery import app as celery_app  # noqa: E402  (Celery's Django integration)

__all__ = ["__version__", "celery_app"]
