"""Settings for running this plugin's tests on its own: mmCAT's settings with this plugin enabled
and a throw-away data folder (SQLite database, media files).

``pyproject.toml`` points pytest-django here (``DJANGO_SETTINGS_MODULE``); ``MMCAT_PLUGINS``
from the environment still wins, e.g. ``MMCAT_PLUGINS=xyz,mx`` to test the two together.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("MMCAT_PLUGINS", "xyz")
os.environ.setdefault("MMCAT_DATA_DIR", tempfile.mkdtemp(prefix="mmcat-xyz-tests-"))

from mmcat.settings import *  # noqa: E402,F403
from mmcat.settings import DATA_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
