"""Durations and ages as people read them: ``16 ms``, ``1.2 s``, ``3 min 4 s``, ``2 h 5 min``."""

from __future__ import annotations

from typing import Optional


def duration(seconds: Optional[float]) -> str:
    """A duration in seconds, human-readable; an empty string for None."""
    if seconds is None:
        return ""
    if seconds < 0.9995:  # each bound is where the shorter form would round up to the next one
        return "%d ms" % round(seconds * 1000)
    if seconds < 9.95:
        return "%.1f s" % seconds
    if seconds < 59.5:
        return "%d s" % round(seconds)
    whole = int(round(seconds))
    if whole < 3600:
        return "%d min %d s" % divmod(whole, 60)
    if whole < 86400 * 2:
        return "%d h %d min" % (whole // 3600, whole % 3600 // 60)
    return "%d d %d h" % (whole // 86400, whole % 86400 // 3600)


def ago(milliseconds: int) -> str:
    """How long ago, from a difference in milliseconds: ``4.0 s ago``."""
    return duration(max(0, milliseconds) / 1000) + " ago"
