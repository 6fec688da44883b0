"""The README's code blocks run as written, in order, in a fresh directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 6


def test_every_python_block_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the tax example writes its ledger file here
    namespace: dict[str, object] = {}
    for number, block in enumerate(_blocks()):
        exec(compile(block, f"README.md python block {number}", "exec"), namespace)
