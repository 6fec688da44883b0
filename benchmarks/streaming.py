"""Peak memory of a batch streamed to parquet, against the size of the data it handles.

Usage: ``python benchmarks/streaming.py M N`` (e.g. ``20000 3000``). Writes M accounts × N assets
(the benchmark instance's target, each account drifted by its own month of returns, k = 20) to a
temporary ``.npy`` file, then, in a fresh process, memory-maps it and runs ``rb.solve_batch(...,
out=<parquet>)``; prints the wall time, the peak resident memory of that process, and the sizes of
the input and of the weights the run did not have to hold.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

_CHILD = """
import sys, time, resource
import numpy as np
sys.path.insert(0, {here!r})
import rebalancing as rb
from instances import make_instance
inst = make_instance({n}, 10.0, seed=0, k=20, dense=False)
model = rb.FactorModel(inst.loadings, inst.factor_cov, inst.specific_var)
current = np.load({path!r}, mmap_mode="r")
start = time.perf_counter()
res = rb.solve_batch(current, inst.target, model, inst.costs, 10.0, out={out!r})
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(wall, peak, int((res.status == "optimal").sum()))
"""


def main(m: int, n: int) -> None:
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    from instances import make_accounts, make_instance

    inst = make_instance(n, 10.0, seed=0, k=20, dense=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "current.npy")
        out = str(Path(tmp) / "weights.parquet")
        mapped = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(m, n))
        for a in range(0, m, 2000):  # written in blocks: this process never holds it all
            mapped[a : a + 2000] = make_accounts(inst, min(2000, m - a), seed=a + 1)
        mapped.flush()
        del mapped
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", _CHILD.format(here=here, n=n, path=path, out=out)],
            check=True,
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - start
        wall, peak, optimal = result.stdout.split()
        size = m * n * 8 / 2**20
        on_disk = Path(out).stat().st_size / 2**20
        print(
            f"{m} accounts x {n} assets: solve_batch {float(wall):.1f} s (process {total:.1f} s), "
            f"{optimal}/{m} optimal; peak RSS {float(peak):.0f} MiB; input {size:.0f} MiB "
            f"(memory-mapped), weights written to parquet "
            f"({on_disk:.0f} MiB on disk) instead of a {size:.0f} MiB array"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
