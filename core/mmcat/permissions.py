"""Who sees what. Every view and API endpoint starts from these querysets, so an object outside
them is a 404, never a 403.

* Members of a proposal see the proposal and everything under it.
* Facility staff and admins see everything.
* Beamline staff (local contacts and the beamline's service accounts) see the sessions on their
  beamlines, with those sessions' datasets and jobs, and the proposals and samples behind them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import (
    Attachment,
    Datafile,
    Dataset,
    DatasetLink,
    ProcessingJob,
    Proposal,
    ProposalMember,
    Sample,
    Session,
)


def _anonymous(user) -> bool:
    return user is None or not user.is_authenticated


def session_filter(user, prefix: str = "") -> Q:
    """A ``Q`` selecting the sessions ``user`` may see (through ``prefix`` to the session)."""
    member = ProposalMember.objects.filter(
        proposal=OuterRef(f"{prefix}proposal"), person=user
    )
    return (
        Q(Exists(member))
        | Q(**{f"{prefix}beamline__staff": user})
        | Q(**{f"{prefix}local_contacts": user})
    )


def visible_sessions(user) -> QuerySet[Session]:
    if _anonymous(user):
        return Session.objects.none()
    if user.sees_everything:
        return Session.objects.all()
    return Session.objects.filter(
        pk__in=Session.objects.filter(session_filter(user)).values("pk")
    )


def visible_proposals(user) -> QuerySet[Proposal]:
    if _anonymous(user):
        return Proposal.objects.none()
    if user.sees_everything:
        return Proposal.objects.all()
    return Proposal.objects.filter(
        Q(members__person=user) | Q(sessions__in=visible_sessions(user))
    ).distinct()


def member_proposals(user) -> QuerySet[Proposal]:
    """Proposals where ``user`` may add samples (members and staff)."""
    if _anonymous(user):
        return Proposal.objects.none()
    if user.sees_everything:
        return Proposal.objects.all()
    return Proposal.objects.filter(members__person=user)


def visible_samples(user) -> QuerySet[Sample]:
    return Sample.objects.filter(proposal__in=visible_proposals(user))


def visible_datasets(user) -> QuerySet[Dataset]:
    if not _anonymous(user) and user.sees_everything:
        return Dataset.objects.all()
    return Dataset.objects.filter(session__in=visible_sessions(user))


def visible_datafiles(user) -> QuerySet[Datafile]:
    return Datafile.objects.filter(dataset__in=visible_datasets(user))


def visible_links(user) -> QuerySet[DatasetLink]:
    datasets = visible_datasets(user)
    return DatasetLink.objects.filter(output__in=datasets, input__in=datasets)


def visible_jobs(user) -> QuerySet[ProcessingJob]:
    if not _anonymous(user) and user.sees_everything:
        return ProcessingJob.objects.all()
    return ProcessingJob.objects.filter(session__in=visible_sessions(user))


def visible_attachments(user) -> QuerySet[Attachment]:
    if not _anonymous(user) and user.sees_everything:
        return Attachment.objects.all()
    return Attachment.objects.filter(session__in=visible_sessions(user))


def can_manage_proposals(user) -> bool:
    """Creating proposals and sessions is the user office's job: facility staff and admins."""
    return not _anonymous(user) and user.sees_everything
