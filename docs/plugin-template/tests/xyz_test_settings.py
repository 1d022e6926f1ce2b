"""Settings for running this plugin's tests on its own: mmCAT's test settings with this plugin
enabled. ``pyproject.toml`` points pytest-django here (``DJANGO_SETTINGS_MODULE``);
``MMCAT_PLUGINS`` from the environment still wins, e.g. ``MMCAT_PLUGINS=xyz,mx`` to test the two
together.
"""

import os

os.environ.setdefault("MMCAT_PLUGINS", "xyz")

from mmcat.test_settings import *  # noqa: E402,F403
