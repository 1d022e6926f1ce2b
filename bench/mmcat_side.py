"""The parts of the benchmark that need Django: run by ``ingest_search.py`` in a subprocess.

It runs with the benchmark's environment (``DATABASE_URL``, ``MMCAT_PLUGINS`` ...) and prints one
JSON object on stdout; Django's own logging goes to stderr.

* ``setup --sessions K``: create a facility, a beamline, a proposal ``mx1001`` with K sessions and
  a staff person with an API token; prints ``{"sessions": [ids], "token": key}``.
* ``capture-sql --token KEY --url PATH``: run one GET of the real API view in-process (Django's
  test client, same URL conf, same authentication) and print the SQL it executed, as
  ``{"status": code, "queries": [sql, ...]}``, so that the caller can EXPLAIN ANALYZE it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta


def setup_django() -> None:
    """Configure Django from the environment, as ``mmcat`` does."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmcat.settings")
    import django

    django.setup()


def create_fixtures(n_sessions: int) -> dict:
    """Create facility, beamline, staff person with token, proposal and ``n_sessions`` sessions."""
    from mmcat.models import ApiToken, Beamline, Facility, Person, Proposal, Session

    facility = Facility.objects.create(name="Benchmark Light Source", short_name="bls")
    beamline = Beamline.objects.create(facility=facility, name="BL-BENCH", techniques=["mx"])
    person = Person.objects.create_user(
        username="bench", email="bench@example.org", role=Person.Role.STAFF
    )
    beamline.staff.add(person)
    proposal = Proposal.objects.create(code="mx", number=1001, title="Benchmark", pi=person)
    start = datetime(2025, 1, 6, 8, tzinfo=UTC)
    sessions = Session.objects.bulk_create(
        Session(proposal=proposal, number=i + 1, beamline=beamline,
                start=start + timedelta(days=i), end=start + timedelta(days=i, hours=24))
        for i in range(n_sessions)
    )
    _, key = ApiToken.issue(person, "benchmark")
    return {"sessions": [s.pk for s in sessions], "token": key}


def capture_sql(token: str, url: str) -> dict:
    """GET ``url`` through the real view stack in-process; return the status and executed SQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1",
                              secure=True)
    return {"status": response.status_code, "queries": [q["sql"] for q in captured]}


def main(argv: list[str] | None = None) -> int:
    """Parse the sub-command, run it and print its JSON answer."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup")
    setup.add_argument("--sessions", type=int, default=1)
    capture = sub.add_parser("capture-sql")
    capture.add_argument("--token", required=True)
    capture.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    setup_django()
    if args.command == "setup":
        result = create_fixtures(max(1, args.sessions))
    else:
        result = capture_sql(args.token, args.url)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
