"""Server time of the busiest pages on a session with 1 000 datasets × 20 parameters.

    .venv/bin/python bench/web_render.py [--datasets 1000] [--runs 30] [--pg URL] [--keep]

It creates the database ``mmcat_bench_web`` on the local PostgreSQL, loads one session, and
times each page through Django's full request stack in-process (middleware, permission
querysets, templates; no network), as the median and 90th percentile of ``--runs`` requests
after one warm-up. It also prints the number of SQL queries each page ran.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg

DB = "mmcat_bench_web"


def recreate_database(pg: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")


def drop_database(pg: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")


def setup_django(pg: str) -> None:
    os.environ.update({
        "DATABASE_URL": f"{pg}/{DB}", "MMCAT_PLUGINS": "mx", "SECRET_KEY": "bench",
        "ALLOWED_HOSTS": "testserver", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
        "MMCAT_DATA_DIR": os.environ.get("MMCAT_DATA_DIR", "/tmp/mmcat-bench-web"),
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmcat.settings")
    os.makedirs(os.path.join(os.environ["MMCAT_DATA_DIR"], "static"), exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_session(n_datasets: int, seed: int = 7):
    """One live session with ``n_datasets`` MX datasets of 20 numeric parameters each."""
    from mmcat.bulk import insert_rows
    from mmcat.models import (
        Beamline,
        Dataset,
        Facility,
        ParameterType,
        ParameterValue,
        Person,
        Proposal,
        Session,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC)
    facility = Facility.objects.create(name="Bench", short_name="bench")
    beamline = Beamline.objects.create(facility=facility, name="BL-WEB", techniques=["mx"])
    pi = Person.objects.create_user("pi", "pi@example.org", "x")
    proposal = Proposal.objects.create(code="mx", number=1, title="Render bench", pi=pi)
    proposal.members.create(person=pi, role="pi")
    session = Session.objects.create(proposal=proposal, number=1, beamline=beamline,
                                     start=now - timedelta(hours=12),
                                     end=now + timedelta(hours=12))
    datasets = Dataset.objects.bulk_create(
        Dataset(session=session, technique="mx", name=f"x{i // 4}_{i % 4 + 1}",
                start_time=session.start + timedelta(seconds=30 * i))
        for i in range(n_datasets)
    )
    types = [t for t in ParameterType.objects.filter(technique="mx", value_kind="number")
             if t.minimum is not None and t.maximum is not None][:20]
    rows = [(d.pk, t.pk, rng.uniform(t.minimum, t.maximum), None, None)
            for d in datasets for t in types]
    insert_rows(ParameterValue, ("dataset", "type", "number", "text", "vector"), rows)
    return pi, session, datasets[-1], len(types)


def time_page(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection, reset_queries

    response = client.get(url)  # warm-up
    connection.force_debug_cursor = True
    reset_queries()
    response = client.get(url)
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return (statistics.median(timings), timings[int(len(timings) * 0.9) - 1],
            queries, response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if "@127.0.0.1:" not in args.pg and "@localhost:" not in args.pg:
        sys.exit("only a PostgreSQL on this machine (127.0.0.1) is benchmarked")
    recreate_database(args.pg)
    try:
        setup_django(args.pg)
        from django.test import Client
        from django.urls import reverse

        pi, session, dataset, n_params = load_session(args.datasets)
        client = Client()
        client.force_login(pi)
        pages = [("session page (page 1 of the datasets)",
                  reverse("session-detail", args=[session.pk])),
                 ("session page, filtered by two parameter ranges",
                  reverse("session-detail", args=[session.pk])
                  + "?param=wavelength&min=0.9&max=&unit=&param=resolution&min=&max=50&unit="),
                 ("dataset page", reverse("dataset-detail", args=[dataset.pk])),
                 ("home", reverse("home"))]
        print(f"{args.datasets} datasets × {n_params} parameters in one session; "
              f"median and p90 of {args.runs} requests, in-process, PostgreSQL\n")
        print(f"{'page':<50} {'median':>9} {'p90':>9} {'queries':>8}")
        for label, url in pages:
            median, p90, queries, status = time_page(client, url, args.runs)
            if status != 200:
                sys.exit(f"{label}: HTTP {status}")
            print(f"{label:<50} {median:7.1f} ms {p90:6.1f} ms {queries:8d}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.pg)


if __name__ == "__main__":
    main()
