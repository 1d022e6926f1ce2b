"""Small helpers shared by the MX parsers: file reading, number conversion, errors.

Nothing here imports Django, so the parsers can run in a worker or a plain script.
"""

from __future__ import annotations

import math
from pathlib import Path

from mmcat.plugins.types import ParseError

__all__ = ["ParseError", "fail", "read_bytes", "read_head", "to_float", "to_int"]

HEAD_BYTES = 4096


def fail(path: Path, problem: str) -> ParseError:
    """Build a :class:`ParseError` whose message names the file and the problem."""
    return ParseError(f"{Path(path).name}: {problem}")


def read_head(path: Path, size: int = HEAD_BYTES) -> str:
    """Return the first ``size`` bytes of ``path`` as text, or "" if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def read_bytes(path: Path) -> bytes:
    """Read the whole file; raise :class:`ParseError` if it is unreadable or empty."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise fail(path, "file is empty")
    return data


def to_float(text: str | None, path: Path, what: str) -> float | None:
    """Convert ``text`` to float; None for missing/blank text. Accepts ``.058`` (no leading 0)."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise fail(path, f"{what} is not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise fail(path, f"{what} is not a finite number: {text.strip()!r}")
    return value


def to_int(text: str | None, path: Path, what: str) -> int | None:
    """Convert ``text`` to int; None for missing/blank text. Accepts integral floats (``12.0``)."""
    value = to_float(text, path, what)
    if value is None:
        return None
    if not value.is_integer():
        raise fail(path, f"{what} is not an integer: {text.strip()!r}")
    return int(value)
