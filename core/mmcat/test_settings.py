"""Settings for test suites, the core's and plugins': the real settings (SQLite, or PostgreSQL
when ``DATABASE_URL`` is set; Redis when ``REDIS_URL`` is set) with a throw-away data folder,
plain-http cookies and fast password hashing.

A plugin's ``xyz_test_settings.py`` sets ``MMCAT_PLUGINS`` (``os.environ.setdefault``) and then
does ``from mmcat.test_settings import *``.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("MMCAT_DATA_DIR", tempfile.mkdtemp(prefix="mmcat-tests-"))

from mmcat.settings import *  # noqa: E402,F403
from mmcat.settings import DATA_DIR, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise wants it to exist
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
