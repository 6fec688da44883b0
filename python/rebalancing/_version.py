"""The package version: the one place it is written.

The build reads it from here (``[tool.scikit-build.metadata.version]`` in pyproject.toml, a regex
on this file), so the wheel's metadata, :data:`rebalancing.__version__` and ``rebalancing
--version`` cannot disagree.
"""

__version__ = "0.1.0"
