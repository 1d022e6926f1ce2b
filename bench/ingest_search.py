"""Benchmark: bulk ingest of N datasets x 20 parameters and a two-parameter range search.

Each operation is timed twice in the same run, on the same PostgreSQL server:

* mmCAT: through the real product (gunicorn serving ``mmcat.wsgi``, 2 workers) over HTTP:
  ``POST /api/v1/ingest/`` in batches, then ``GET /api/v1/datasets/?param=...&page_size=1``.
* raw SQL: a typed-column table (one float8 column per parameter, btree indexes on the two
  searched columns) loaded with ``COPY``, searched with ``SELECT count(*) ... WHERE a <= x AND
  b >= y``.

and printed as a ratio mmCAT / raw SQL. Run ``.venv/bin/python bench/ingest_search.py --n 100000``;
``--help`` lists the options. Only 127.0.0.1 is contacted. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
MMCAT_DB = "mmcat_bench"
RAW_DB = "mmcat_bench_raw"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 900.0
SUBPROCESS_TIMEOUT = 900.0

# 20 numeric MX parameters (plugins/mx/mmcat_mx/dictionary.py) and how to draw a realistic value
# (always inside the dictionary's allowed range). ("u", a, b): uniform; ("log", a, b):
# log-uniform; ("int", a, b): integer; ("choice", values); ("angle",): 90° for most cells.
PARAMETERS: dict[str, tuple] = {
    "wavelength": ("u", 0.6, 1.8),
    "exposure_time": ("log", 0.002, 1.0),
    "oscillation_start": ("u", 0.0, 360.0),
    "oscillation_range": ("choice", (0.05, 0.1, 0.15, 0.2, 0.5, 1.0)),
    "number_of_images": ("int", 100, 7200),
    "detector_distance": ("u", 80.0, 800.0),
    "transmission": ("u", 1.0, 100.0),
    "beam_size_x": ("u", 5.0, 100.0),
    "beam_size_y": ("u", 5.0, 50.0),
    "resolution": ("u", 0.7, 3.5),
    "cell_a": ("u", 20.0, 300.0),
    "cell_b": ("u", 20.0, 300.0),
    "cell_c": ("u", 20.0, 400.0),
    "cell_alpha": ("angle",),
    "cell_beta": ("angle",),
    "cell_gamma": ("angle",),
    "resolution_low": ("u", 20.0, 80.0),
    "resolution_high": ("u", 0.8, 4.0),
    "completeness": ("u", 80.0, 100.0),
    "multiplicity": ("u", 2.0, 40.0),
}
# The two-parameter range search: (key, API operator, SQL operator, bound).
SEARCH = (("resolution_high", "lte", "<=", 1.5), ("wavelength", "gte", ">=", 0.9))


@dataclass
class Dataset:
    """One generated dataset: its session (index into the session list), name and values."""

    session: int
    name: str
    values: list[float]


@dataclass
class Results:
    """Measured figures of one run (seconds unless said otherwise)."""

    n: int
    api_ingest: float = math.nan
    raw_copy: float = math.nan
    api_search: float = math.nan
    raw_search: float = math.nan
    api_count: int = -1
    raw_count: int = -1
    batch_times: list[float] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)


# --- data ---------------------------------------------------------------------------------------

def draw(rng: random.Random, spec: tuple) -> float:
    """One value following ``spec`` (see ``PARAMETERS``), rounded like an instrument would."""
    kind = spec[0]
    if kind == "u":
        return round(rng.uniform(spec[1], spec[2]), 4)
    if kind == "log":
        return round(math.exp(rng.uniform(math.log(spec[1]), math.log(spec[2]))), 5)
    if kind == "int":
        return rng.randint(spec[1], spec[2])
    if kind == "choice":
        return rng.choice(spec[1])
    if kind == "angle":
        return 90.0 if rng.random() < 0.7 else round(rng.uniform(60.0, 120.0), 2)
    raise ValueError(f"unknown distribution {kind!r}")


def generate(n: int, per_session: int, seed: int) -> list[Dataset]:
    """``n`` datasets, ``per_session`` to a session, with deterministic random parameters."""
    rng = random.Random(seed)
    specs = list(PARAMETERS.values())
    return [Dataset(i // per_session, f"ds{i:07d}", [draw(rng, s) for s in specs])
            for i in range(n)]


def ingest_bodies(datasets: list[Dataset], session_ids: list[int], batch: int) -> list[bytes]:
    """The JSON bodies of the ingest requests, ``batch`` datasets each."""
    keys = list(PARAMETERS)
    bodies = []
    for start in range(0, len(datasets), batch):
        items = [{"session": session_ids[d.session], "technique": "mx", "name": d.name,
                  "parameters": dict(zip(keys, d.values, strict=True))}
                 for d in datasets[start:start + batch]]
        bodies.append(json.dumps({"datasets": items}).encode())
    return bodies


# --- PostgreSQL ---------------------------------------------------------------------------------

def db_url(base: str, name: str) -> str:
    """``base`` (``postgres://user@host:port``) with database ``name``."""
    return f"{base.rstrip('/')}/{name}"


def check_local(base: str) -> None:
    """Refuse a PostgreSQL server that is not on this machine."""
    host = urllib.parse.urlsplit(base).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"--pg must point to 127.0.0.1, not {host!r}")


def recreate_database(base: str, name: str) -> None:
    """Drop database ``name`` if it exists and create it empty."""
    with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(base: str, name: str) -> None:
    """Drop database ``name`` if it exists."""
    with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def vacuum_analyze(url: str) -> None:
    """``VACUUM ANALYZE`` the whole database, so both sides are searched with fresh statistics."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def checkpoint(url: str) -> None:
    """``CHECKPOINT``, so that a timed load does not pay for the previous one's dirty pages."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def explain(url: str, queries: list[str]) -> list[str]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of each query; returns the plans as text."""
    plans = []
    with psycopg.connect(url) as conn:
        for query in queries:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query).fetchall()
            plans.append(query + "\n" + "\n".join(r[0] for r in rows))
            conn.rollback()
    return plans


# --- raw SQL side -------------------------------------------------------------------------------

def create_raw_table(url: str) -> None:
    """The typed-column table, with btree indexes on the two searched columns."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} float8").format(sql.Identifier(k)) for k in PARAMETERS)
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("CREATE TABLE raw_dataset (id bigserial PRIMARY KEY, "
                             "session_id int NOT NULL, name text NOT NULL, {})").format(columns))
        for key, *_ in SEARCH:
            conn.execute(sql.SQL("CREATE INDEX {} ON raw_dataset ({})").format(
                sql.Identifier(f"raw_{key}_idx"), sql.Identifier(key)))


def truncate_raw(url: str) -> None:
    """Empty the typed-column table (between repeated loads)."""
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE raw_dataset RESTART IDENTITY")


def copy_raw(url: str, datasets: list[Dataset], session_ids: list[int]) -> float:
    """Load ``datasets`` with one ``COPY`` in one transaction; returns the wall-clock seconds."""
    target = sql.SQL("COPY raw_dataset (session_id, name, {}) FROM STDIN").format(
        sql.SQL(", ").join(sql.Identifier(k) for k in PARAMETERS))
    start = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(target) as copy:
        for d in datasets:
            copy.write_row((session_ids[d.session], d.name, *d.values))
    return time.perf_counter() - start


def raw_search(url: str, runs: int) -> tuple[float, int]:
    """Median seconds (after one warm-up) and result of the typed-column range count."""
    (a, _, op_a, x), (b, _, op_b, y) = SEARCH
    query = sql.SQL("SELECT count(*) FROM raw_dataset WHERE {} {} %s AND {} {} %s").format(
        sql.Identifier(a), sql.SQL(op_a), sql.Identifier(b), sql.SQL(op_b))
    times, count = [], -1
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(runs + 1):
            start = time.perf_counter()
            count = conn.execute(query, (x, y)).fetchone()[0]
            if i:
                times.append(time.perf_counter() - start)
    return statistics.median(times), count


# --- mmCAT side ---------------------------------------------------------------------------------

def mmcat_env(url: str, data_dir: Path, debug: bool) -> dict[str, str]:
    """The environment of every mmCAT process of the run (production settings by default)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DATABASE_URL": url, "MMCAT_PLUGINS": "mx", "SECRET_KEY": "bench",
        "MMCAT_DEBUG": "1" if debug else "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0", "MMCAT_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
    })
    return env


def run_checked(cmd: list[str], env: dict[str, str]) -> str:
    """Run ``cmd`` in the repository; returns stdout, raises with stderr on failure."""
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def migrate(env: dict[str, str]) -> None:
    """``mmcat migrate`` (which also syncs the MX data dictionary)."""
    run_checked([str(BIN / "mmcat"), "migrate", "--no-input"], env)


def helper(env: dict[str, str], *args: str) -> dict:
    """Run ``bench/mmcat_side.py`` with ``args``; returns its JSON answer."""
    out = run_checked([sys.executable, str(HERE / "mmcat_side.py"), *args], env)
    return json.loads(out.strip().splitlines()[-1])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen:
    """Start gunicorn serving ``mmcat.wsgi`` on 127.0.0.1:``port``."""
    cmd = [str(BIN / "gunicorn"), "mmcat.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--timeout", str(int(REQUEST_TIMEOUT)),
           "--error-logfile", str(log)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait_ready(server: subprocess.Popen, base: str, log: Path) -> None:
    """Wait until the server answers HTTP at all (a 401 will do), at most ``READY_TIMEOUT``."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log.read_text()}")
        try:
            request(base + "/api/v1/plugins/", "GET", None, {}, timeout=5)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {READY_TIMEOUT:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn (SIGTERM to its process group, SIGKILL after 30 s)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def request(url: str, method: str, body: bytes | None, headers: dict[str, str],
            timeout: float = REQUEST_TIMEOUT) -> tuple[int, dict]:
    """One HTTP request; returns ``(status, decoded JSON body)``, 4xx/5xx included."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, {"body": text[:2000]}


def post_batch(base: str, token: str, index: int, body: bytes) -> float:
    """POST one ingest batch (with an idempotency key); returns its seconds."""
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": f"bench-batch-{index}"}
    start = time.perf_counter()
    status, answer = request(base + "/api/v1/ingest/", "POST", body, headers)
    elapsed = time.perf_counter() - start
    if status != 201:
        raise RuntimeError(f"ingest batch {index}: HTTP {status}: {str(answer)[:2000]}")
    return elapsed


def api_ingest(base: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, list]:
    """POST every batch with ``clients`` concurrent clients; returns total and per-batch seconds."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(post_batch, base, token, i, b) for i, b in enumerate(bodies)]
        times = []
        for i, future in enumerate(futures):
            times.append(future.result())
            if (i + 1) % 10 == 0:
                log(f"  {i + 1}/{len(bodies)} batches, {time.perf_counter() - start:.1f} s")
    return time.perf_counter() - start, times


def search_path() -> str:
    """The API path of the two-parameter range search (one result per page: count + filter)."""
    query = [("param", f"{key}__{op}:{bound}") for key, op, _, bound in SEARCH]
    return "/api/v1/datasets/?" + urllib.parse.urlencode(query + [("page_size", "1")])


def api_search(base: str, token: str, runs: int) -> tuple[float, int]:
    """Median seconds (after one warm-up) and ``count`` of the API range search."""
    headers = {"Authorization": f"Token {token}"}
    times, count = [], -1
    for i in range(runs + 1):
        start = time.perf_counter()
        status, answer = request(base + search_path(), "GET", None, headers)
        if i:
            times.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"search: HTTP {status}: {str(answer)[:2000]}")
        count = answer["count"]
    return statistics.median(times), count


def search_sql(env: dict[str, str], token: str) -> list[str]:
    """The SQL the API's range search runs on the dataset tables (auth queries left out)."""
    answer = helper(env, "capture-sql", "--token", token, "--url", search_path())
    if answer["status"] != 200:
        raise RuntimeError(f"capture-sql: HTTP {answer['status']}")
    return [q for q in answer["queries"]
            if q.lstrip().upper().startswith("SELECT") and "core_apitoken" not in q]


# --- report -------------------------------------------------------------------------------------

def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def seconds(value: float) -> str:
    """Seconds for the table: ms below one second."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def report(r: Results) -> str:
    """The results table and the throughput lines."""
    n_values = r.n * len(PARAMETERS)
    (a, _, op_a, x), (b, _, op_b, y) = SEARCH
    rows = [
        ("operation", "mmCAT", "raw SQL", "ratio"),
        (f"load {r.n} datasets x {len(PARAMETERS)} parameters", seconds(r.api_ingest),
         seconds(r.raw_copy), f"{r.api_ingest / r.raw_copy:.1f}x"),
        (f"search {a} {op_a} {x} and {b} {op_b} {y}", seconds(r.api_search),
         seconds(r.raw_search), f"{r.api_search / r.raw_search:.1f}x"),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += [
        "",
        f"load rate   mmCAT: {r.n / r.api_ingest:,.0f} datasets/s "
        f"({n_values / r.api_ingest:,.0f} parameter values/s); raw SQL: "
        f"{r.n / r.raw_copy:,.0f} rows/s ({n_values / r.raw_copy:,.0f} values/s)",
        f"per batch   min {min(r.batch_times):.2f} s, median "
        f"{statistics.median(r.batch_times):.2f} s, max {max(r.batch_times):.2f} s "
        f"({len(r.batch_times)} requests)",
        f"matches     mmCAT count {r.api_count}, raw SQL count {r.raw_count}"
        + ("" if r.api_count == r.raw_count else "  <-- MISMATCH"),
    ]
    return "\n".join(lines)


def execution_ms(plan: str) -> float:
    """The ``Execution Time`` of an ``EXPLAIN ANALYZE`` text, in ms."""
    for line in reversed(plan.splitlines()):
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return math.nan


def plan_summary(plans: list[str]) -> str:
    """Database time of each query of one API search, then the full plan of the count query."""
    lines = ["SQL run by one API search (EXPLAIN ANALYZE execution time):"]
    for plan in plans:
        lines.append(f"  {execution_ms(plan):8.2f} ms  {plan.splitlines()[0][:90]}")
    lines.append(f"  {sum(execution_ms(p) for p in plans):8.2f} ms  in all")
    count = next((p for p in plans if "COUNT(*)" in p.splitlines()[0]), None)
    if count:
        lines += ["", "Plan of the count query:", count]
    return "\n".join(lines)


# --- run ----------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="datasets to load (default 100000)")
    p.add_argument("--batch", type=int, default=2000, help="datasets per ingest request")
    p.add_argument("--per-session", type=int, default=1000, help="datasets per session")
    p.add_argument("--clients", type=int, default=1, help="concurrent ingest clients")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--runs", type=int, default=15, help="timed search runs (median)")
    p.add_argument("--copy-runs", type=int, default=3, help="timed COPY loads (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                   help="PostgreSQL server (user@host:port, no database)")
    p.add_argument("--debug", action="store_true", help="serve with MMCAT_DEBUG=1")
    p.add_argument("--plans", type=Path, help="also write the EXPLAIN ANALYZE plans here")
    p.add_argument("--json", type=Path, help="also write the figures here as JSON")
    p.add_argument("--keep", action="store_true",
                   help="keep the databases and the temporary folder (server log)")
    args = p.parse_args(argv)
    if (not 1 <= args.batch <= 5000 or min(args.n, args.runs, args.copy_runs, args.per_session,
                                            args.clients, args.workers) < 1):
        p.error("need 1 <= batch <= 5000 and n, runs, copy-runs, per-session, clients, "
                "workers >= 1")
    check_local(args.pg)
    return args


def run_mmcat(args, datasets: list[Dataset], env: dict[str, str], work: Path, r: Results) -> None:
    """The mmCAT side: migrate, fixtures, server, ingest over HTTP, search over HTTP, plans."""
    mmcat_url = db_url(args.pg, MMCAT_DB)
    recreate_database(args.pg, MMCAT_DB)
    log("mmCAT: migrate")
    migrate(env)
    sessions = math.ceil(args.n / args.per_session)
    fixtures = helper(env, "setup", "--sessions", str(sessions))
    token, session_ids = fixtures["token"], fixtures["sessions"]
    bodies = ingest_bodies(datasets, session_ids, args.batch)
    port, server_log = free_port(), work / "gunicorn.log"
    server = start_server(env, port, server_log, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(server, base, server_log)
        checkpoint(mmcat_url)
        log(f"mmCAT: ingest {args.n} datasets in {len(bodies)} requests on {base}")
        r.api_ingest, r.batch_times = api_ingest(base, token, bodies, args.clients)
        vacuum_analyze(mmcat_url)
        log("mmCAT: search")
        r.api_search, r.api_count = api_search(base, token, args.runs)
    finally:
        stop_server(server)
    r.plans = explain(mmcat_url, search_sql(env, token))


def run_raw(args, datasets: list[Dataset], r: Results) -> None:
    """The raw SQL side: typed-column table, COPY, range count."""
    raw_url = db_url(args.pg, RAW_DB)
    recreate_database(args.pg, RAW_DB)
    create_raw_table(raw_url)
    session_ids = list(range(1, math.ceil(args.n / args.per_session) + 1))
    times = []
    for i in range(args.copy_runs):
        log(f"raw SQL: COPY {args.n} rows ({i + 1}/{args.copy_runs})")
        truncate_raw(raw_url)
        checkpoint(raw_url)
        times.append(copy_raw(raw_url, datasets, session_ids))
    r.raw_copy = statistics.median(times)
    vacuum_analyze(raw_url)
    r.raw_search, r.raw_count = raw_search(raw_url, args.runs)


def main(argv: list[str] | None = None) -> int:
    """Run both sides, print the table, clean up."""
    args = parse_args(argv)
    log(f"generating {args.n} datasets x {len(PARAMETERS)} parameters (seed {args.seed})")
    datasets = generate(args.n, args.per_session, args.seed)
    work = Path(tempfile.mkdtemp(prefix="mmcat-bench-"))
    env = mmcat_env(db_url(args.pg, MMCAT_DB), work, args.debug)
    results = Results(args.n)
    try:
        run_mmcat(args, datasets, env, work, results)
        run_raw(args, datasets, results)
    finally:
        if args.keep:
            log(f"kept databases {MMCAT_DB}, {RAW_DB} and {work}")
        else:
            drop_database(args.pg, MMCAT_DB)
            drop_database(args.pg, RAW_DB)
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nmmCAT bench: N = {args.n}, batch {args.batch}, {args.clients} client(s), "
          f"{args.workers} gunicorn workers; COPY median of {args.copy_runs}, "
          f"search median of {args.runs}\n")
    print(report(results))
    print("\n" + plan_summary(results.plans))
    if args.plans:
        args.plans.write_text("\n\n".join(results.plans) + "\n")
    if args.json:
        figures = {k: v for k, v in vars(results).items() if k != "plans"}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if results.api_count == results.raw_count else 1


if __name__ == "__main__":
    sys.exit(main())
