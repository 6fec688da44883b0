"""Public signatures are typed precisely: no exported function or class takes an ``Any`` or
unannotated parameter, and every annotation resolves at run time (typing.get_type_hints)."""

from __future__ import annotations

import inspect
import sys
import typing

import pytest

import rebalancing as rb

# On 3.10, typing.Unpack (the backtests' **options) exists only for type checkers.
pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.Unpack needs 3.11")


def _public() -> list[tuple[str, object]]:
    out = []
    for owner in (rb, rb.tax):
        for name in owner.__all__:
            obj = getattr(owner, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                out.append((f"{owner.__name__}.{name}", obj))
    return out


@pytest.mark.parametrize(("name", "obj"), _public(), ids=[n for n, _ in _public()])
def test_public_parameters_are_typed(name: str, obj: object) -> None:
    function = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
    if function is object.__init__:
        return
    hints = typing.get_type_hints(function)  # raises if an annotation does not resolve
    for param, spec in inspect.signature(function).parameters.items():
        if param in ("self", "cls") or spec.kind in (spec.VAR_POSITIONAL, spec.VAR_KEYWORD):
            continue
        assert param in hints, f"{name}({param}) has no annotation"
        assert hints[param] is not typing.Any, f"{name}({param}) is typed Any"
