"""One version: ``python/rebalancing/_version.py`` is the only place it is written; the installed
metadata, ``rebalancing.__version__`` and ``rebalancing --version`` all read it."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from click.testing import CliRunner

import rebalancing as rb
from rebalancing.cli import main


def test_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", rb.__version__)


def test_installed_metadata_agrees() -> None:
    # Fails on a stale install (the version was bumped without reinstalling): reinstall.
    assert importlib.metadata.version("rebalancing") == rb.__version__


def test_cli_version_option() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"rebalancing, version {rb.__version__}\n"


def test_version_is_written_once() -> None:
    # pyproject.toml declares the version dynamic (no literal there) and nothing else in the
    # package assigns it.
    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    if not pyproject.startswith("[build-system]"):  # not run from a source checkout
        return
    assert re.search(r'(?m)^dynamic = \["version"\]', pyproject)
    assert not re.search(r"(?m)^version\s*=", pyproject)
    package = root / "python" / "rebalancing"
    assigned = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if re.search(r"(?m)^__version__\s*[:=]", p.read_text(encoding="utf-8"))
    ]
    assert assigned == ["_version.py"]
