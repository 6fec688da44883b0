"""The README's code blocks run as written, in order, in a fresh directory."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 6


def test_every_python_block_runs_as_written_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twice in one directory: a user re-running the examples gets the same results (the tax
    # example's ledger file is opened the second time, not appended to).
    monkeypatch.chdir(tmp_path)
    lots = []
    for _ in range(2):
        namespace: dict[str, object] = {}
        for number, block in enumerate(_blocks()):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        lots.append(namespace["ledger"].lots())  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(lots[0], lots[1])
    assert len(lots[0]) > 0
