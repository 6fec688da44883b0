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


try:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    _PLOT_TYPES: dict[str, object] = {"Axes": Axes, "Figure": Figure}
except ImportError:  # pragma: no cover - the plot extra is part of the test extra
    _PLOT_TYPES = {}


def _public() -> list[tuple[str, object]]:
    """Exported functions and classes, and the public methods those classes define."""
    out = []
    for owner in (rb, rb.tax):
        for name in owner.__all__:
            obj = getattr(owner, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                out.append((f"{owner.__name__}.{name}", obj))
            if inspect.isclass(obj) and not issubclass(obj, tuple | dict):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_"):
                        out.append((f"{owner.__name__}.{name}.{attr}", member))
    return out


@pytest.mark.parametrize(("name", "obj"), _public(), ids=[n for n, _ in _public()])
def test_public_parameters_are_typed(name: str, obj: object) -> None:
    function = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
    if function is object.__init__:
        return
    # Raises if an annotation does not resolve; matplotlib's types are those of the plot extra.
    hints = typing.get_type_hints(function, localns=_PLOT_TYPES)
    for param, spec in inspect.signature(function).parameters.items():
        if param in ("self", "cls") or spec.kind in (spec.VAR_POSITIONAL, spec.VAR_KEYWORD):
            continue
        assert param in hints, f"{name}({param}) has no annotation"
        assert hints[param] is not typing.Any, f"{name}({param}) is typed Any"
