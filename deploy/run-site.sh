#!/usr/bin/env bash
# Run the production processes of an mmCAT site on this machine, in the background, against a
# PostgreSQL and a Redis that are already running. The same processes as deploy/compose.yaml and
# deploy/systemd/: migrate + collectstatic once, then gunicorn (web), one Celery worker consuming
# the queues "celery" and "mx", and Celery beat.
#
#   deploy/run-site.sh [start] DIR   start; pids, logs and data go into DIR; returns once the web
#                                    server answers /api/v1/ and the worker is ready
#   deploy/run-site.sh stop DIR      stop what `start` started (gracefully, then by force)
#   deploy/run-site.sh status DIR    show which processes are running
#
# Required environment: DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS. Everything else that
# deploy/mmcat.env.example lists is honoured too. Script-only knobs (defaults in brackets):
#   PORT [8000]  HOST [127.0.0.1]  WORKER_QUEUES [all declared]  WORKER_CONCURRENCY [2]
#   WAIT_SECONDS [60]  STOP_SECONDS [30]  PYTHON [python3]
# mmcat, gunicorn and celery are taken from PATH (e.g. PATH=/path/to/venv/bin:$PATH).
# MMCAT_DATA_DIR defaults to DIR/data (STATIC_ROOT and MEDIA_ROOT follow it).
#
# Example (CI):
#   createdb -h 127.0.0.1 -U postgres mmcat_site
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmcat_site REDIS_URL=redis://127.0.0.1:6379/3 \
#   SECRET_KEY=x ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=0 MMCAT_PLUGINS=mx \
#     deploy/run-site.sh /tmp/site
#   ... tests against http://127.0.0.1:8000/ ...
#   deploy/run-site.sh stop /tmp/site

set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROCESSES=(web worker beat)  # start order; stopped in reverse

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

die() {
    echo "run-site: $*" >&2
    exit 1
}

log() {
    echo "run-site: $*"
}

pid_of() {  # the recorded pid of process $1, if it is alive
    local file="$DIR/$1.pid" pid
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

launch() {  # launch NAME COMMAND...: run in its own session, log to DIR/NAME.log, record the pid
    local name="$1"
    shift
    log "starting $name: $*"
    (cd "$DIR" && exec setsid "$@" </dev/null >>"$DIR/$name.log" 2>&1) &
    echo "$!" >"$DIR/$name.pid"
}

show_logs() {
    local name
    for name in migrate "${PROCESSES[@]}"; do
        if [[ -s "$DIR/$name.log" ]]; then
            echo "----- last lines of $DIR/$name.log -----" >&2
            tail -n 30 "$DIR/$name.log" >&2
        fi
    done
}

stop_site() {
    local name pid waited
    local -a names=()
    for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do names+=("${PROCESSES[i]}"); done
    for name in "${names[@]}"; do
        if pid="$(pid_of "$name")"; then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for name in "${names[@]}"; do
        pid="$(pid_of "$name")" || { rm -f "$DIR/$name.pid"; continue; }
        waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < STOP_SECONDS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) still running after ${STOP_SECONDS}s; killing its process group"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/$name.pid"
    done
    log "stopped"
}

status_site() {
    local name pid rc=0
    for name in "${PROCESSES[@]}"; do
        if pid="$(pid_of "$name")"; then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not running"
            rc=3
        fi
    done
    return "$rc"
}

start_site() {
    local name missing=()
    for name in DATABASE_URL REDIS_URL SECRET_KEY ALLOWED_HOSTS; do
        [[ -n "${!name:-}" ]] || missing+=("$name")
    done
    ((${#missing[@]} == 0)) || die "set ${missing[*]} (see deploy/mmcat.env.example)"
    for name in mmcat gunicorn celery setsid "$PYTHON"; do
        command -v "$name" >/dev/null || die "'$name' not found in PATH"
    done
    for name in "${PROCESSES[@]}"; do
        if pid_of "$name" >/dev/null; then
            die "$name already running from $DIR (pid $(<"$DIR/$name.pid")); run: $0 stop $DIR"
        fi
    done

    # Something else on the port would answer the readiness probe in gunicorn's place.
    if "$PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
        "$PORT" 2>/dev/null; then
        die "port $PORT is already in use; set PORT"
    fi

    export MMCAT_DATA_DIR="${MMCAT_DATA_DIR:-$DIR/data}"
    export STATIC_ROOT="${STATIC_ROOT:-$MMCAT_DATA_DIR/static}"
    export MEDIA_ROOT="${MEDIA_ROOT:-$MMCAT_DATA_DIR/media}"
    export PORT HOST DJANGO_SETTINGS_MODULE=mmcat.settings
    mkdir -p "$MMCAT_DATA_DIR" "$STATIC_ROOT" "$MEDIA_ROOT"

    log "migrating (log: $DIR/migrate.log)"
    if ! (cd "$DIR" && mmcat migrate --noinput && mmcat collectstatic --noinput) \
        </dev/null >"$DIR/migrate.log" 2>&1; then
        show_logs
        die "migrate/collectstatic failed"
    fi

    # From here on, a failure stops whatever was started.
    trap 'show_logs; stop_site; die "start failed"' ERR

    launch web gunicorn -c "$DEPLOY_DIR/gunicorn.conf.py"
    local queues=()
    if [[ -n "$WORKER_QUEUES" ]]; then queues=(--queues="$WORKER_QUEUES"); fi
    launch worker mmcat worker --loglevel="${LOG_LEVEL:-INFO}" "${queues[@]}" \
        --hostname="site@%h" --concurrency="$WORKER_CONCURRENCY"
    launch beat celery -A mmcat beat --loglevel="${LOG_LEVEL:-INFO}" \
        --schedule="$DIR/celerybeat-schedule" --pidfile=

    local url="http://127.0.0.1:$PORT/api/v1/" deadline=$((SECONDS + WAIT_SECONDS))
    local web_up="" worker_up="" answer=""
    log "waiting up to ${WAIT_SECONDS}s for $url and the worker"
    while [[ -z "$web_up" || -z "$worker_up" ]]; do
        for name in "${PROCESSES[@]}"; do
            pid_of "$name" >/dev/null || { log "$name exited"; false; }
        done
        if [[ -z "$web_up" ]] && answer="$("$PYTHON" "$DEPLOY_DIR/healthcheck.py" "$url" 2>&1)"; then
            web_up=1
            log "web is up: $answer"
        fi
        if [[ -z "$worker_up" ]] && grep -q " ready\.$" "$DIR/worker.log" 2>/dev/null; then
            worker_up=1
            log "worker is ready: $(grep -m1 "Connected to" "$DIR/worker.log" || echo connected)"
        fi
        if ((SECONDS >= deadline)); then
            [[ -n "$web_up" ]] || log "web not answering: $answer"
            [[ -n "$worker_up" ]] || log "worker not ready"
            false
        fi
        [[ -n "$web_up" && -n "$worker_up" ]] || sleep 0.5
    done
    trap - ERR

    status_site
    log "site running at http://127.0.0.1:$PORT/ ; logs in $DIR/*.log ; stop with: $0 stop $DIR"
}

# --- arguments -----------------------------------------------------------------------------------
case "${1:-}" in
    start | stop | status)
        ACTION="$1"
        (($# == 2)) || usage
        DIR_ARG="$2"
        ;;
    "" | -h | --help) usage ;;
    *)
        ACTION=start
        (($# == 1)) || usage
        DIR_ARG="$1"
        ;;
esac

PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
WORKER_QUEUES="${WORKER_QUEUES:-}"  # empty: every queue the enabled plugins declare
WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"
WAIT_SECONDS="${WAIT_SECONDS:-60}"
STOP_SECONDS="${STOP_SECONDS:-30}"
PYTHON="${PYTHON:-python3}"

if [[ "$ACTION" == start ]]; then
    mkdir -p "$DIR_ARG"
fi
[[ -d "$DIR_ARG" ]] || die "no such folder: $DIR_ARG"
DIR="$(cd "$DIR_ARG" && pwd)"

case "$ACTION" in
    start) start_site ;;
    stop) stop_site ;;
    status) status_site ;;
esac
