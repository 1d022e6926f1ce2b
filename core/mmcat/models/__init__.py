"""Core models. Plugins point at these tables; these tables never point at a plugin."""

from .datasets import Datafile, Dataset, DatasetLink
from .facility import Beamline, Facility
from .ingest import IngestRequest
from .parameters import ParameterType, ParameterValue
from .people import ApiToken, Person
from .processing import Attachment, ProcessingJob
from .proposals import Proposal, ProposalMember, Session, SessionMember
from .samples import Sample

__all__ = [
    "ApiToken",
    "Attachment",
    "Beamline",
    "Datafile",
    "Dataset",
    "DatasetLink",
    "Facility",
    "IngestRequest",
    "ParameterType",
    "ParameterValue",
    "Person",
    "ProcessingJob",
    "Proposal",
    "ProposalMember",
    "Sample",
    "Session",
    "SessionMember",
]
