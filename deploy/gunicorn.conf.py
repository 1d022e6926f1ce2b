"""Gunicorn configuration for the mmCAT web process.

Used by deploy/compose.yaml (``gunicorn -c /app/deploy/gunicorn.conf.py``), by
deploy/systemd/mmcat-web.service (copied to /etc/mmcat/gunicorn.conf.py) and by
deploy/run-site.sh. Every value can be overridden from the environment:

    PORT                 port to listen on (default 8000)
    HOST                 address to listen on (default 0.0.0.0; 127.0.0.1 behind a local proxy)
    GUNICORN_BIND        full bind spec instead of HOST:PORT, e.g. unix:/run/mmcat/web.sock
    GUNICORN_WORKERS     worker processes (default 2 * usable CPUs + 1)
    GUNICORN_THREADS     threads per worker (default 1: plain sync workers)
    GUNICORN_TIMEOUT     seconds before a silent worker is killed and restarted (default 60)
    FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* headers (default 127.0.0.1)
    GUNICORN_CONTROL_SOCKET  path of gunicorn's control socket (default: none, disabled)
    LOG_LEVEL            shared with Django (DEBUG, INFO, WARNING, ...)
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "mmcat.wsgi:application"

bind = [
    os.environ.get("GUNICORN_BIND", "").strip()
    or f"{os.environ.get('HOST', '').strip() or '0.0.0.0'}:{_int('PORT', 8000)}"
]

workers = _int("GUNICORN_WORKERS", 2 * _cpus() + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

# A worker silent for `timeout` seconds is killed; requests that need longer (big uploads) should
# be made into jobs. On SIGTERM workers get `graceful_timeout` seconds to finish their requests.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5

# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# Heartbeat files on tmpfs: a disk-backed /tmp can stall workers under I/O load.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Logs: access log and error log on stdout/stderr, collected by docker / journald.
accesslog = "-"
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL", "").strip() or "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Trust X-Forwarded-For / -Proto only from the reverse proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"

proc_name = "mmcat-web"

# Gunicorn >= 25.1 opens a control socket (for `gunicornc`) at $XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl, one path for every gunicorn of the user. Off unless
# GUNICORN_CONTROL_SOCKET names a path. (Older gunicorn ignores these names.)
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()
