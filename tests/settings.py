"""The core's test settings: every installed plugin by default (``MMCAT_PLUGINS`` from the
environment wins, e.g. empty for the core alone), plus the dummy plugin that exercises every
hook."""

import os

os.environ.setdefault("MMCAT_PLUGINS", "all")

from mmcat.test_settings import *  # noqa: E402,F403
from mmcat.test_settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.dummy_plugin"]
