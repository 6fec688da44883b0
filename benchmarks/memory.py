"""Peak memory of one solve, each solver in a fresh process.

Usage: ``python benchmarks/memory.py 1000 2000`` prints, per n and solver, how far the process's
peak resident memory rose during the solve above its peak before it. The parent generates the
instance and saves it; the child only loads it (no generator temporaries set an early peak) and
wraps Σ without the PSD check (the check copies Σ once, at construction, by design).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "measure"]

_CHILD = """
import pickle, resource, sys
sys.path.insert(0, {here!r})
import anchors, rebalancing as rb
with open({path!r}, "rb") as f:
    inst = pickle.load(f)
cov = rb.DenseCovariance(inst.cov, check_psd=False) if {name!r} == "rebalancing" else None
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
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from instances import make_instance

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "instance.pkl")
        with open(path, "wb") as f:
            pickle.dump(make_instance(n, 10.0), f)
        code = _CHILD.format(here=str(here), path=path, name=name)
        return _run(code)


def _run(code: str) -> float:
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
