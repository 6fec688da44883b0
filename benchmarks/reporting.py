"""Formatting shared by the report scripts that turn pytest-benchmark JSON into RESULTS.md."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["bench_row", "fmt_seconds", "load", "machine_line"]


def load(path: str) -> dict[str, Any]:
    """A pytest-benchmark JSON file."""
    with open(path) as f:
        data: dict[str, Any] = json.load(f)
    return data


def machine_line(data: dict[str, Any]) -> str:
    """'Machine: CPU, python X; date' from the JSON's machine_info."""
    machine = data.get("machine_info", {})
    return (
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"python {machine.get('python_version', '?')}; {data.get('datetime', '')}"
    )


def bench_row(bench: dict[str, Any]) -> dict[str, Any]:
    """One benchmark's extra_info with its median time and number of rounds."""
    stats = bench["stats"]
    return {**bench["extra_info"], "median": stats["median"], "rounds": stats["rounds"]}


def fmt_seconds(seconds: float) -> str:
    """A duration in µs, ms or s with three significant-ish digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"
