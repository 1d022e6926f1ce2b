"""Plain data types that hooks return and the core consumes.

Hooks return these dataclasses rather than dicts so that a typo in a field name fails at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ParseError(ValueError):
    """A file could not be parsed. The message says which file and what was wrong."""


@dataclass(frozen=True)
class ParameterSpec:
    """One entry of the data dictionary, declared by a technique."""

    key: str
    label: str
    value_kind: str = "number"  # number, integer, text, datetime, enum, vector
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: Sequence[str] = ()
    mmcif_item: str = ""
    searchable: bool = True
    description: str = ""


@dataclass(frozen=True)
class TechniqueSpec:
    """A technique (MX, EM, …) with the parameter types its datasets carry."""

    slug: str
    label: str
    parameters: Sequence[ParameterSpec] = ()
    description: str = ""


@dataclass(frozen=True)
class Parser:
    """Turns one kind of file into a structured, JSON-serialisable dict.

    ``detect(path)`` answers cheaply whether the file looks like this kind (it may read the first
    few kilobytes); ``parse(path)`` returns the result or raises :class:`ParseError`.
    """

    name: str
    label: str
    detect: Callable[[Path], bool]
    parse: Callable[[Path], dict[str, Any]]
    technique: str = ""
    file_kinds: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    order: int = 100


@dataclass(frozen=True)
class Panel:
    """A box on a core page, loaded lazily from ``url`` (an htmx fragment)."""

    title: str
    url: str
    order: int = 100


@dataclass
class DemoContext:
    """What ``mmcat demo`` created, handed to the ``mmcat_demo_data`` hook.

    ``sessions`` maps a role to a session: ``"live"`` (running now), ``"past"``, ``"next"``.
    ``submit(job)`` queues a processing job so the demo shows the worker at work.
    """

    facility: Any
    beamlines: dict[str, Any]
    people: dict[str, Any]
    proposals: dict[str, Any]
    sessions: dict[str, Any]
    submit: Callable[[Any], Any]


@dataclass(frozen=True)
class PeriodicTask:
    """A Celery beat entry: ``task`` name run every ``seconds``."""

    name: str
    task: str
    seconds: float
    kwargs: dict[str, Any] = field(default_factory=dict)
