"""Django settings, all taken from the environment.

With nothing set, mmCAT runs on the embedded default: SQLite in ``$MMCAT_DATA_DIR`` (``./var``)
and Celery on a folder-based broker, so no service is needed. Production sets ``DATABASE_URL``
(PostgreSQL), ``REDIS_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``; see ``deploy/mmcat.env.example``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from mmcat.plugins.loading import enabled_plugin_apps


def env(name: str, default: str = "") -> str:
    """The variable's value; an empty value counts as unset."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DATA_DIR = Path(env("MMCAT_DATA_DIR") or Path.cwd() / "var").resolve()
DEBUG = env_bool("MMCAT_DEBUG")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when MMCAT_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-mmcat-demo-and-tests"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- plugins: read entry-point metadata only, import no plugin code ---------------------------
MMCAT_PLUGINS = os.environ.get("MMCAT_PLUGINS", "")
MMCAT_PLUGIN_APPS = enabled_plugin_apps(MMCAT_PLUGINS)
MMCAT_PLUGIN_SETTINGS = json.loads(env("MMCAT_PLUGIN_SETTINGS") or "{}")
MMCAT_TRACE_HOOKS = env_bool("MMCAT_TRACE_HOOKS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "auditlog",
    "axes",
    "mmcat.apps.CoreConfig",
    *MMCAT_PLUGIN_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mmcat.audit.AuditMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a sign-in lockout into the login page
]

ROOT_URLCONF = "mmcat.urls"
WSGI_APPLICATION = "mmcat.wsgi.application"
AUTH_USER_MODEL = "core.Person"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- sign-in: local accounts (rate-limited by django-axes) and optional OpenID Connect --------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses attempts while locked out
    "django.contrib.auth.backends.ModelBackend",
    "mmcat.oidc.PersonOIDCBackend",  # inert unless the OIDC_* variables below are set
]
# N failed sign-ins for one username from one address lock that pair for M minutes. API tokens
# never go through this: DRF token authentication does not call authenticate().
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mmcat.web.accounts.locked_out"
AXES_CLIENT_IP_CALLABLE = "mmcat.web.accounts.client_ip"
AXES_WHITELIST_CALLABLE = "mmcat.web.accounts.not_a_password_attempt"
# Reverse proxies in front of the web process that append to X-Forwarded-For (nginx with
# $proxy_add_x_forwarded_for: 1). 0 means the peer address is the client's.
MMCAT_PROXY_COUNT = int(env("MMCAT_PROXY_COUNT", "0"))
PASSWORD_RESET_TIMEOUT = 24 * 3600  # a reset link works for a day, and only once

# OpenID Connect (e.g. Keycloak): on when the six OIDC_* variables below are all set.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID") or None
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET") or None
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT") or None
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT") or None
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT") or None
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT") or None
_oidc_required = ("OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT",
                  "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT")
_oidc_missing = [name for name in _oidc_required if not globals()[name]]
if 0 < len(_oidc_missing) < len(_oidc_required):
    raise ImproperlyConfigured(
        f"OpenID Connect is half configured: set {', '.join(_oidc_missing)} too, or unset all.")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "SSO")  # the button: "Sign in with SSO"
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = int(env("OIDC_TIMEOUT", "10"))
OIDC_AUTHENTICATE_CLASS = "mmcat.oidc.AuthenticateView"
OIDC_CALLBACK_CLASS = "mmcat.oidc.CallbackView"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mmcat.web.context.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
_sqlite_path = DATA_DIR / "mmcat.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{_sqlite_path}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- caches and Celery ------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Embedded default: a folder-based broker shared by the web process and the worker.
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
    for _folder in ("queue", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = ["mmcat.routing.route"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mmcat.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "mmcat.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mmcat.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mmCAT API",
    "DESCRIPTION": "Proposals, sessions, samples, datasets with typed parameters, lineage and "
    "processing jobs. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- static files, i18n -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT") or DATA_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "media/"
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "mmcat@localhost")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")

# --- security: safe by default, relaxed only for the local demo -------------------------------
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
