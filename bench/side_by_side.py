#!/usr/bin/env python3
"""Side-by-side benchmark on real traffic: mmtrun against nDPI and the libpcap floor.

Builds one capture from the shared real captures (every Ethernet packet, repeated with
moved addresses until it holds --packets packets), then runs on it, in the same run:
  floor         libpcap's read loop alone (bench/pcap_loop)
  mmtrun        mmtrun --flows -q
  mmtrun +5     mmtrun -T csv with five printed attributes, flows to --flows-file
  nDPI          a lean program on Debian's libndpi-dev with a flow table (bench/ndpi_bench)
and prints, for each, instructions per packet (callgrind, start-up subtracted by running
the same command on the capture's first packet), CPU seconds (median of --runs), peak
RSS, bytes per flow, and the ratios to nDPI and to the floor.

Usage: python3 bench/side_by_side.py [--build build/release] [--packets 2000000]
                                     [--captures ../shared/pcaps] [--runs 3]
Installs valgrind and libndpi-dev with apt-get when they are missing and it may.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ATTRIBUTES = ["ipv4.src", "ipv4.dst", "tcp.dst_port", "dns.qname", "tls.sni"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def install(packages):
    """Installs Debian packages with apt-get (through sudo unless root)."""
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"installing {' '.join(packages)}", file=sys.stderr)
    run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + packages,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)


def ensure_tools(build):
    missing = []
    if not shutil.which("valgrind"):
        missing.append("valgrind")
    if subprocess.run(["pkg-config", "--exists", "libndpi"]).returncode != 0:
        missing.append("libndpi-dev")
    if missing:
        install(missing)
        run(["cmake", build], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", build, "-j2", "--target", "mmtrun", "make_real_capture",
         "pcap_loop", "ndpi_bench"], stdout=subprocess.DEVNULL)


def make_captures(build, captures, packets):
    inputs = sorted(glob.glob(os.path.join(captures, "*.pcap*")) +
                    glob.glob(os.path.join(captures, "ndpi", "*.pcap*")))
    if not inputs:
        sys.exit(f"side_by_side: no capture in {captures}")
    big = os.path.join(build, "bench", f"real-{packets}.pcap")
    one = os.path.join(build, "bench", "real-1.pcap")
    tool = os.path.join(build, "bench", "make_real_capture")
    if not os.path.exists(big):
        out = run([tool, big, str(packets)] + inputs, capture_output=True, text=True).stdout
        print(out.strip(), file=sys.stderr)
    run([tool, one, "1"] + inputs, stdout=subprocess.DEVNULL)
    return big, one


def instructions(cmd):
    """Instructions of the whole process, counted by callgrind."""
    with tempfile.NamedTemporaryFile(prefix="callgrind.", delete=False) as f:
        out = f.name
    try:
        run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
    finally:
        os.unlink(out)
    raise RuntimeError(f"no total in callgrind's output for {cmd}")


def measure(name, cmd):
    """CPU seconds and peak RSS (KiB) of one run, and the flows it reports.

    The output goes to a file read line by line: this process must stay small, as a
    child's peak RSS counts the pages it shared with this process before its exec."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"side_by_side: {' '.join(cmd)} failed")
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, usage.ru_maxrss, flow_count(name, out)


def flow_count(name, output):
    if name == "nDPI":
        for line in output:
            if line.startswith(b"packets "):
                return int(line.split()[3])
    if name == "mmtrun":
        return sum(1 for line in output if line.startswith(b"flow "))
    return None


def capture_arguments(doc, runs):
    """The options of the benchmarks on the real-traffic capture: --build, --packets,
    --captures and --runs (`runs` by default)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--build", default=os.path.join(root, "build", "release"))
    ap.add_argument("--packets", type=int, default=2000000)
    ap.add_argument("--captures", default=os.path.join(root, "..", "shared", "pcaps"))
    ap.add_argument("--runs", type=int, default=runs)
    return ap


def main():
    args = capture_arguments(__doc__, 3).parse_args()

    ensure_tools(args.build)
    big, one = make_captures(args.build, args.captures, args.packets)
    bench = os.path.join(args.build, "bench")
    mmtrun = [os.path.join(args.build, "bin", "mmtrun")]
    columns = [a for attr in ATTRIBUTES for a in ("-e", attr)]
    systems = [
        ("floor", lambda c: [os.path.join(bench, "pcap_loop"), c]),
        ("mmtrun", lambda c: mmtrun + ["-r", c, "--flows", "-q"]),
        ("mmtrun +5", lambda c: mmtrun + ["-r", c, "--flows-file", os.devnull, "-T", "csv"] + columns),
        ("nDPI", lambda c: [os.path.join(bench, "ndpi_bench"), c]),
    ]
    # The compiled specs cached, for this CPU and for the one valgrind shows a program:
    # no measured run compiles them. Under valgrind, mmtc fills the cache itself: mmtrun
    # hands a miss to mmtrun-full, whose process valgrind would not follow.
    warm = systems[1][1](one)
    run(warm, stdout=subprocess.DEVNULL)
    specs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "protocols.dsl")
    print("filling the compile cache as valgrind shows the machine (a minute or two)",
          file=sys.stderr)
    run(["valgrind", "--tool=none", os.path.join(args.build, "bin", "mmtc"), "build",
         "--cache-only", specs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["valgrind", "--tool=none"] + warm, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    rows = {}
    for name, cmd in systems:
        print(f"measuring {name}", file=sys.stderr)
        per_packet = (instructions(cmd(big)) - instructions(cmd(one))) / (args.packets - 1)
        runs = [measure(name, cmd(big)) for _ in range(args.runs)]
        cpu = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        rss_one = measure(name, cmd(one))[1]
        flows = runs[0][2]
        per_flow = (rss - rss_one) * 1024 / flows if flows else None
        rows[name] = (per_packet, cpu, rss, per_flow, flows)

    floor, ndpi = rows["floor"][0], rows["nDPI"][0]
    print(f"capture: {big} ({args.packets} packets)")
    print(f"{'system':<11}{'instr/packet':>13}{'x floor':>9}{'x nDPI':>8}{'CPU s':>8}"
          f"{'CPU x nDPI':>11}{'peak RSS MB':>12}{'flows':>8}{'B/flow':>8}")
    for name, (ipp, cpu, rss, per_flow, flows) in rows.items():
        print(f"{name:<11}{ipp:>13,.0f}{ipp / floor:>9.2f}{ipp / ndpi:>8.2f}{cpu:>8.2f}"
              f"{cpu / rows['nDPI'][1]:>11.2f}{rss / 1024:>12.1f}"
              f"{flows if flows else '':>8}{'' if per_flow is None else f'{per_flow:.0f}':>8}")


if __name__ == "__main__":
    main()
