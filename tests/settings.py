"""Test settings: the real settings (SQLite, or PostgreSQL when DATABASE_URL is set) plus the
dummy plugin that exercises every hook. ``MMCAT_PLUGINS`` defaults to every installed plugin."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("MMCAT_PLUGINS", "all")
os.environ.setdefault("MMCAT_DATA_DIR", tempfile.mkdtemp(prefix="mmcat-tests-"))

from mmcat.settings import *  # noqa: E402,F403
from mmcat.settings import DATA_DIR, DATABASES, INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.dummy_plugin"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
