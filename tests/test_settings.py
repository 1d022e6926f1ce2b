"""Settings come from the environment: the embedded default needs no service, production is
safe by default (``check --deploy`` is clean)."""

import json
import secrets
import subprocess
import sys

PRINT = ("from django.conf import settings as s; import json; print(json.dumps({"
         "'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
         "'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'secure': s.SESSION_COOKIE_SECURE,"
         "'apps': s.INSTALLED_APPS}))")


def mmcat(*args, env, cwd):
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "mmcat.cli", *args], env={**base, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def read_settings(env, cwd):
    result = mmcat("shell", "-c", PRINT, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_uses_sqlite_and_a_folder_broker(tmp_path):
    empty = {name: "" for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                                   "MMCAT_DATA_DIR", "SECURE_HSTS_SECONDS", "DB_CONN_MAX_AGE")}
    values = read_settings({"MMCAT_DEBUG": "1", **empty}, tmp_path)  # empty counts as unset
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "var" / "mmcat.sqlite3")
    assert values["broker"] == "filesystem://localhost//"
    assert "mmcat_mx" not in values["apps"]  # MMCAT_PLUGINS empty: core only


def test_production_uses_postgresql_and_redis_from_the_environment(tmp_path):
    values = read_settings({
        "SECRET_KEY": "k" * 60, "DATABASE_URL": "postgres://u:p@db.example.org:5432/mmcat",
        "REDIS_URL": "redis://cache.example.org:6379/0", "MMCAT_PLUGINS": "mx",
    }, tmp_path)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://cache.example.org:6379/0"
    assert (values["debug"], values["secure"]) == (False, True)
    assert "mmcat_mx" in values["apps"]


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = mmcat("check", env={}, cwd=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when MMCAT_DEBUG is off" in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    env = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "mmcat.example.org",
           "MMCAT_PLUGINS": "all"}
    result = mmcat("check", "--deploy", "--fail-level", "WARNING", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
