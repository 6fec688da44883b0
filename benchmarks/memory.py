"""Peak memory of one solve, each solver in a fresh process.

Usage: ``python benchmarks/memory.py 1000 2000`` prints, per n and solver, how far the process's
peak resident memory rose during the solve above its level once the instance (with its dense Σ)
was built. A fresh process per measurement keeps earlier solves from hiding a later peak.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["main", "measure"]

_CHILD = """
import resource, sys
sys.path.insert(0, {here!r})
from instances import make_instance
import anchors, rebalancing as rb
inst = make_instance({n}, 10.0)
cov = rb.DenseCovariance(inst.cov) if {name!r} == "rebalancing" else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if {name!r} == "rebalancing":
    rb.solve(inst.current, inst.target, cov, inst.costs, inst.lam)
else:
    anchors.ANCHORS[{name!r}](inst)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
"""


def measure(name: str, n: int) -> float:
    """Rise of peak RSS (MiB) during one solve of the n-asset, λ = 10 instance."""
    code = _CHILD.format(here=str(Path(__file__).resolve().parent), n=n, name=name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    print("| n | Σ itself (MiB) | solver | peak rise during solve (MiB) |")
    print("|---|---|---|---|")
    for n in sizes:
        for name in ("rebalancing", "piqp_dense", "clarabel", "clarabel_factor"):
            print(f"| {n} | {n * n * 8 / 2**20:.1f} | {name} | {measure(name, n):.1f} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000])
