#!/usr/bin/env python3
"""Packets per second of mmtrun --workers N against one worker, on real traffic.

Builds (or reuses) the capture side_by_side.py builds from the shared captures, then runs
`mmtrun -r CAPTURE --flows -q --workers N` for each N, --runs times each, alternating, and
prints per N the median wall time, packets per second, CPU seconds and peak RSS, and the
speed-up over one worker. Every run's flow records, sorted, must be those of one worker.
Wall time is what more workers shorten: run it on an otherwise idle machine.

It also measures what the machine itself allows: the same single-worker command run as
two processes at once, which share nothing. Their combined packets per second over one
process's is the speed-up two workers could reach at best on this machine (2.0 where two
cores really run at once; less on a virtual machine whose processors share a core).

Usage: python3 bench/workers.py [--build build/release] [--packets 2000000]
                                [--captures ../shared/pcaps] [--runs 5] [--workers 1,2]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from side_by_side import capture_arguments, make_captures, run  # noqa: E402


def one_run(cmd):
    """Wall seconds, CPU seconds, peak RSS (KiB) and a digest of the sorted flow records."""
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"workers: {' '.join(cmd)} failed")
        # Sorted by sort(1): this process stays small, for a child's peak RSS counts the
        # pages it shared with this process before its exec.
        out.seek(0)
        digest = subprocess.run("sort | sha256sum", shell=True, stdin=out, check=True,
                                capture_output=True).stdout
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, digest


def main():
    ap = capture_arguments(__doc__, 5)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    run(["cmake", "--build", args.build, "-j2", "--target", "mmtrun", "make_real_capture"],
        stdout=subprocess.DEVNULL)
    big, _ = make_captures(args.build, args.captures, args.packets)
    mmtrun = os.path.join(args.build, "bin", "mmtrun")
    base = [mmtrun, "-r", big, "--flows", "-q", "--no-progress"]
    run(base + ["-c", "1"], stdout=subprocess.DEVNULL)  # the compile cache, warm

    results = {n: [] for n in counts}
    for _ in range(args.runs):
        for n in counts:  # alternating, so that a busy moment hurts every count alike
            results[n].append(one_run(base + ["--workers", str(n)]))
    # The ceiling: two independent single-worker processes at once.
    pairs = []
    for _ in range(args.runs):
        start = time.monotonic()
        procs = [subprocess.Popen(base + ["--workers", "1"], stdout=subprocess.DEVNULL)
                 for _ in range(2)]
        for p in procs:
            p.wait()
        pairs.append(time.monotonic() - start)
    digests = {r[3] for rs in results.values() for r in rs}
    if len(digests) != 1:
        sys.exit("workers: the flow records differ between runs or worker counts")

    print(f"capture: {big} ({args.packets} packets); median of {args.runs} runs")
    print(f"{'workers':>8} {'wall s':>8} {'Mpkt/s':>8} {'CPU s':>8} {'RSS MiB':>8} {'speed-up':>9}")
    one = statistics.median(r[0] for r in results[counts[0]])
    for n in counts:
        wall = statistics.median(r[0] for r in results[n])
        cpu = statistics.median(r[1] for r in results[n])
        rss = max(r[2] for r in results[n]) / 1024
        print(f"{n:>8} {wall:>8.2f} {args.packets / wall / 1e6:>8.3f} {cpu:>8.2f} "
              f"{rss:>8.1f} {one / wall:>8.2f}x")
    pair = statistics.median(pairs)
    print(f"ceiling: two single-worker processes at once took {pair:.2f} s for twice the "
          f"packets: {2 * one / pair:.2f}x one process's packets per second")


if __name__ == "__main__":
    main()
