"""Memory of archive scoring as the file grows: peak PSS of the whole process tree.

    python bench/bench_memory.py [--small 240000] [--large 2400000]

Writes two demo archives (Parquet) ten times apart in size, scores each with
``nlp-service score`` (all cores) and samples the proportional set size (PSS: pages shared
between the main process and its forked workers counted once) of the process tree every
50 ms from /proc. Flat memory means the two peaks are about the same.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tree_pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            own = next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            kids = [int(k) for k in fh.read().split()]
    except (OSError, ValueError):
        return 0
    return own + sum(tree_pss_kib(k) for k in kids)


def peak_pss_mb(cmd: list[str]) -> tuple[float, float]:
    """(peak PSS in MB, seconds) of ``cmd`` and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_pss_kib(proc.pid))
        time.sleep(0.05)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed with {proc.returncode}")
    return peak / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=240_000)
    parser.add_argument("--large", type=int, default=2_400_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    exe = [sys.executable, "-m", "nlp_service.cli"]
    print(f"command: python {' '.join(sys.argv)}")
    print(f"{'rows':>10s} {'peak PSS MB':>12s} {'seconds':>8s}")
    for rows in (args.small, args.large):
        src = folder / f"archive-{rows}.parquet"
        subprocess.run([*exe, "demo-archive", "-o", str(src), "--rows", str(rows), "--rooms", "6"], check=True, stdout=subprocess.DEVNULL)
        mb, seconds = peak_pss_mb([*exe, "score", str(src), "-o", str(folder / f"scored-{rows}.parquet"), "--quiet"])
        print(f"{rows:>10,d} {mb:>12.0f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
