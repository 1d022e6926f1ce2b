"""Demonstration data: a facility with beamlines, people in every role, proposals and sessions
(one running now), then each enabled plugin adds its datasets (``mmcat_demo_data`` hook)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .jobs import submit
from .models import Beamline, Facility, Person, Proposal, ProposalMember, Sample, Session
from .plugins.manager import hook
from .plugins.types import DemoContext

PASSWORD = "mmcat-demo"

PEOPLE = [
    # username, first, last, role, what they show
    ("alice", "Alice", "Martin", Person.Role.USER, "PI of mx2024 and mx2031"),
    ("bruno", "Bruno", "Costa", Person.Role.USER, "member of mx2024"),
    ("chen", "Chen", "Wei", Person.Role.USER, "PI of mx2031 only (sees nothing of mx2024)"),
    ("dana", "Dana", "Keller", Person.Role.USER, "local contact on i04-1"),
    ("erik", "Erik", "Nilsson", Person.Role.STAFF, "facility staff (sees everything)"),
]


def is_loaded() -> bool:
    return Facility.objects.filter(short_name="demo").exists()


@transaction.atomic
def load() -> list[tuple[str, str]]:
    """Create the demo data; returns ``(username, what they show)`` for the logins to print."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    facility = Facility.objects.create(name="Demo Light Source", short_name="demo",
                                       url="https://example.org/")
    beamlines = {
        name: Beamline.objects.create(facility=facility, name=name, techniques=["mx"])
        for name in ("i04-1", "ID30A-1", "P14")
    }
    people = {}
    for username, first, last, role, _ in PEOPLE:
        person = Person.objects.create_user(username, f"{username}@example.org", PASSWORD,
                                            first_name=first, last_name=last, role=role,
                                            is_staff=role == Person.Role.STAFF,
                                            is_superuser=role == Person.Role.STAFF)
        people[username] = person
    service = Person.objects.create_user("i04-1-daq", "", None, first_name="i04-1",
                                         last_name="acquisition", is_service=True)
    beamlines["i04-1"].staff.add(people["dana"], service)
    proposals = {
        "mx2024": Proposal.objects.create(code="mx", number=2024, pi=people["alice"],
                                          title="Bromodomain BAZ2B fragment screening"),
        "mx2031": Proposal.objects.create(code="mx", number=2031, pi=people["chen"],
                                          title="Insulin helical data collection"),
    }
    ProposalMember.objects.create(proposal=proposals["mx2024"], person=people["alice"],
                                  role="pi")
    ProposalMember.objects.create(proposal=proposals["mx2024"], person=people["bruno"])
    ProposalMember.objects.create(proposal=proposals["mx2031"], person=people["chen"],
                                  role="pi")
    ProposalMember.objects.create(proposal=proposals["mx2031"], person=people["alice"],
                                  role="coi")
    sessions = {
        "live": Session.objects.create(proposal=proposals["mx2024"], number=1,
                                       beamline=beamlines["i04-1"],
                                       start=now - timedelta(hours=3),
                                       end=now + timedelta(hours=21)),
        "past": Session.objects.create(proposal=proposals["mx2031"], number=1,
                                       beamline=beamlines["ID30A-1"],
                                       start=now - timedelta(days=12),
                                       end=now - timedelta(days=11)),
        "next": Session.objects.create(proposal=proposals["mx2024"], number=2,
                                       beamline=beamlines["P14"],
                                       start=now + timedelta(days=9),
                                       end=now + timedelta(days=10)),
    }
    sessions["live"].local_contacts.add(people["dana"])
    Sample.objects.create(proposal=proposals["mx2024"], name="BAZ2BA", comments="protein")
    hook().mmcat_demo_data(demo=DemoContext(
        facility=facility, beamlines=beamlines, people=people, proposals=proposals,
        sessions=sessions, submit=submit,
    ))
    return [(username, what) for username, *_, what in PEOPLE]
