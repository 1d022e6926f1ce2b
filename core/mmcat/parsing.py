"""Run the plugins' ingest parsers on a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .plugins.manager import collect
from .plugins.types import ParseError, Parser

__all__ = ["ParseError", "parse_file", "parsers"]


def parsers() -> dict[str, Parser]:
    return {p.name: p for p in collect("mmcat_ingest_parsers")}


def parse_file(path: Path, parser: str | None = None) -> tuple[str, dict[str, Any]]:
    """Parse ``path`` with the named parser, or the first whose ``detect`` accepts the file.

    Returns ``(parser name, result)``; raises :class:`ParseError` with a clear message.
    """
    available = parsers()
    if not path.is_file():
        raise ParseError(f"{path}: no such file")
    if parser is not None:
        if parser not in available:
            raise ParseError(
                f"unknown parser '{parser}'; available: {', '.join(sorted(available)) or 'none'}"
            )
        chosen = available[parser]
    else:
        chosen = next((p for p in available.values() if p.detect(path)), None)
        if chosen is None:
            raise ParseError(
                f"{path.name}: no enabled parser recognises this file "
                f"(parsers: {', '.join(sorted(available)) or 'none'})"
            )
    return chosen.name, chosen.parse(path)
