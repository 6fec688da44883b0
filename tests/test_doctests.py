"""The Examples sections of the public API run as doctests, against the installed package."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType

import numpy as np
import pytest

import rebalancing as rb


def _modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(rb.__path__, prefix="rebalancing.")
        if not info.name.split(".")[-1].startswith("_")
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module: ModuleType = importlib.import_module(name)
    with np.printoptions(legacy=False):
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


#: What users get back rather than call: results, reports and records (their fields are
#: documented; the functions that return them carry the examples).
RETURNED = {
    "BacktestOptions",
    "Acquisition",
    "Block",
    "Sale",
    "Trade",
    "WouldWash",
    "Holdings",
    "Lot",
    "Piece",
}


def _public_callables() -> list[tuple[str, object]]:
    out = []
    for namespace, owner in (("rb", rb), ("rb.tax", rb.tax)):
        for attr in owner.__all__:
            obj = getattr(owner, attr)
            returned = attr in RETURNED or attr.endswith(("Result", "Report"))
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not returned:
                out.append((f"{namespace}.{attr}", obj))
    return out


@pytest.mark.parametrize(
    ("name", "obj"), _public_callables(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_public_functions_and_classes_have_examples(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in doc and ">>> " in doc, f"{name} has no Examples section"
