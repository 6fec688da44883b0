"""Formatting shared by the report scripts that turn pytest-benchmark JSON into RESULTS.md."""

from __future__ import annotations

__all__ = ["fmt_seconds"]


def fmt_seconds(seconds: float) -> str:
    """A duration in µs, ms or s with three significant-ish digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"
